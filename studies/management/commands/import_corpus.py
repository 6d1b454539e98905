from django.core.management.base import BaseCommand, CommandError

from studies.services.corpora import CorpusImportError, corpus_import


class Command(BaseCommand):
    help = "Import real articles from a JSONL or CSV file into a named corpus (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--name", required=True, help="corpus name, used by study specs")

    def handle(self, *args, path: str, name: str, **options):
        try:
            result = corpus_import(path=path, name=name)
        except CorpusImportError as exc:
            raise CommandError(f"nothing was imported:\n{exc}") from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"corpus {result.corpus.name!r}: {result.created} new, {result.unchanged} already there"
        )
