from django.core.management.base import BaseCommand, CommandError

from studies.models import Study
from studies.services.reports import study_report
from studies.services.studies import StudyError


class Command(BaseCommand):
    help = "Analyse a study: report.html, results.json, CSV tables and PNG figures in DIR."

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--out", required=True, help="output folder")
        parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
        parser.add_argument(
            "--seed", type=int, default=None, help="bootstrap seed (default: the study's)"
        )
        parser.add_argument(
            "--peek",
            action="store_true",
            help="analyse a study that is not closed (recorded in the audit log)",
        )

    def handle(self, *args, study: str, out: str, n_boot: int, seed, peek: bool, **options):
        obj = Study.objects.filter(slug=study).first()
        if obj is None:
            raise CommandError(f"no study called {study!r}")
        try:
            path = study_report(study=obj, out_dir=out, n_boot=n_boot, seed=seed, peek=peek)
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(path))
