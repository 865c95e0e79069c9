from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from articles.caching import announce, front, keys

# How long the command waits for every front cache to take the purge.
WAIT_SECONDS = 10


class Command(BaseCommand):
    help = (
        "Make cached pages cold, in the page cache and in every front cache (FRONT_CACHE_URLS): all of "
        "them (after a deploy that changes templates), or those holding the surrogate keys given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "surrogate_keys", nargs="*", metavar="KEY", help="surrogate keys, e.g. a123 cl4 site (default: all)"
        )

    def handle(self, *args, surrogate_keys, **options):
        wanted = set(surrogate_keys) or {keys.ALL}
        malformed = sorted(key for key in wanted if not keys.KEY_PATTERN.fullmatch(key))
        if malformed:
            raise CommandError(f"Not surrogate keys: {', '.join(malformed)} (letters, digits, - and _ only)")
        announce(wanted)
        failed = front.wait(WAIT_SECONDS)
        if failed:
            raise CommandError(
                f"These front caches did not take the purge within {WAIT_SECONDS} s: {', '.join(failed)}"
            )
        fronts = len(settings.FRONT_CACHE_URLS)
        self.stdout.write(
            self.style.SUCCESS(f"Purged {' '.join(sorted(wanted))} (page cache and {fronts} front caches).")
        )
