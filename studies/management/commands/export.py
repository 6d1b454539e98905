from django.core.management.base import BaseCommand, CommandError

from studies.models import Study
from studies.services.exports import study_export


class Command(BaseCommand):
    help = "Write a study's exports (responses.csv, items.csv, judges.csv, study.json) to DIR."

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--out", required=True, help="output folder")
        parser.add_argument(
            "--payments",
            action="store_true",
            help="also write payments.csv with platform ids (restricted)",
        )

    def handle(self, *args, study: str, out: str, payments: bool, **options):
        obj = Study.objects.filter(slug=study).first()
        if obj is None:
            raise CommandError(f"no study called {study!r}")
        for path in study_export(study=obj, out_dir=out, payments=payments):
            self.stdout.write(str(path))
