from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from studies.models import GenerationJob, Study
from studies.services.generation import generation_run, generation_start
from studies.services.studies import StudyError


class Command(BaseCommand):
    help = "Generate a study's texts here, in this process, with a progress bar (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--condition", action="append", help="only this condition (repeatable)")

    def handle(self, *args, study: str, condition: list[str] | None = None, **options):
        obj = Study.objects.filter(slug=study).first()
        if obj is None:
            raise CommandError(f"no study called {study!r}")
        try:
            jobs = generation_start(study=obj, condition_names=condition, send=False)
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        if not jobs:
            self.stdout.write("nothing to generate: every condition is done")
        for job in jobs:
            with tqdm(desc=job.condition.name, unit="text", total=None) as bar:

                def progress(done: int, total: int, bar=bar) -> None:
                    bar.total = total
                    bar.n = done
                    bar.refresh()

                try:
                    generation_run(job_id=job.pk, progress=progress)
                except Exception as exc:  # noqa: BLE001
                    raise CommandError(
                        f"condition {job.condition.name}: {exc}; run the command again to resume"
                    ) from None
            job.refresh_from_db()
            state = job.state
            if state != GenerationJob.State.DONE:
                raise CommandError(f"condition {job.condition.name}: job is {state}")
        obj.refresh_from_db()
        dropped = obj.study_articles.filter(dropped=True).count()
        self.stdout.write(f"study {obj.slug!r} is {obj.status}; {dropped} article(s) dropped")
