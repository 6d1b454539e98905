from django.core.management.base import BaseCommand, CommandError

from studies.models import DetectionJob, Study
from studies.services.detection import detection_run, detection_start, detector_aucs
from studies.services.studies import StudyError


class Command(BaseCommand):
    help = "Score a study's shown texts with machine detectors here, in this process (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument(
            "--detector", action="append", help="only this detector (repeatable; default: spec's)"
        )

    def handle(self, *args, study: str, detector: list[str] | None = None, **options):
        obj = Study.objects.filter(slug=study).first()
        if obj is None:
            raise CommandError(f"no study called {study!r}")
        try:
            job = detection_start(study=obj, detectors=detector, send=False)
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        if job is None:
            raise CommandError("detection is running in another worker")
        try:
            detection_run(job_id=job.pk)
        except Exception as exc:  # noqa: BLE001
            raise CommandError(f"{exc}; run the command again to resume") from None
        job.refresh_from_db()
        if job.state != DetectionJob.State.DONE:
            raise CommandError(f"detection job is {job.state}: {job.error}")
        for name, why in job.skipped.items():
            self.stdout.write(f"{name}: skipped ({why})")
        for row in detector_aucs(obj):
            auc = "n/a" if row["auc"] is None else f"{row['auc']:.3f}"
            if row["auc"] is not None and row["auc"] < 0.5:
                auc += " (below chance: it finds the machine texts more human)"
            self.stdout.write(
                f"{row['detector']} [{row['condition']}]: AUC {auc}, {row['texts']} texts"
            )
