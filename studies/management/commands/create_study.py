from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studies.services.studies import StudyError, study_create
from studies.spec import SpecError


class Command(BaseCommand):
    help = "Create a draft study from a spec file (TOML). Every problem is listed at once."

    def add_arguments(self, parser):
        parser.add_argument("spec", help="path to the study's .toml spec")
        parser.add_argument("--owner", help="username of the researcher who owns it")

    def handle(self, *args, spec: str, owner: str | None = None, **options):
        try:
            text = Path(spec).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{spec}: cannot read the spec: {exc}") from None
        user = None
        if owner:
            user = get_user_model().objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"--owner: no user called {owner!r}")
        try:
            study, warnings = study_create(spec_text=text, owner=user)
        except (SpecError, StudyError) as exc:
            raise CommandError(f"{spec}: {exc}") from None
        for warning in warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"study {study.slug!r} created (draft): {study.study_articles.count()} articles, "
            f"{study.conditions.count()} conditions"
        )
