from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studies.services.tokens import token_create


class Command(BaseCommand):
    help = "Create an API token for a researcher (printed once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user called {username!r}")
        self.stdout.write(token_create(user=user, name=name))
