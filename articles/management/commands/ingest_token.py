from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from articles.models import IngestToken


class Command(BaseCommand):
    help = "Tokens of programs that push posts to /api/v1/posts/: create NAME, list, revoke NAME."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        actions.add_parser("create", help="make a token and print it (its last line); it is shown once").add_argument(
            "name"
        )
        actions.add_parser("list", help="every token, without its secret")
        actions.add_parser("revoke", help="stop a token from working").add_argument("name")

    def handle(self, *args, action, **options):
        if action == "create":
            if IngestToken.objects.filter(name=options["name"]).exists():
                raise CommandError(f"a token named {options['name']!r} exists already")
            try:
                token, secret = IngestToken.objects.create_token(options["name"])
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            self.stderr.write(f"Token {token.name} created. Keep it now: only its hash is stored.")
            self.stdout.write(secret)
        elif action == "list":
            for token in IngestToken.objects.all():
                state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
                used = f"last used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
                self.stdout.write(f"{token.name}\t{state}\t{used}")
        else:
            revoked = IngestToken.objects.filter(name=options["name"], revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            if not revoked:
                raise CommandError(f"no active token named {options['name']!r}")
            self.stdout.write(self.style.SUCCESS(f"Token {options['name']} revoked."))
