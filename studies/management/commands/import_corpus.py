from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studies.services.corpora import CorpusImportError, corpus_import


class Command(BaseCommand):
    help = "Import real articles from a JSONL or CSV file into a named corpus (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--name", required=True, help="corpus name, used by study specs")
        parser.add_argument(
            "--owner",
            help="username of the researcher who owns it (default: none, for every researcher)",
        )

    def handle(self, *args, path: str, name: str, owner: str | None = None, **options):
        user = None
        if owner:
            user = get_user_model().objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"--owner: no user called {owner!r}")
        try:
            result = corpus_import(path=path, name=name, owner=user)
        except CorpusImportError as exc:
            raise CommandError(f"nothing was imported:\n{exc}") from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"corpus {result.corpus.name!r}: {result.created} new, {result.unchanged} already there"
        )
