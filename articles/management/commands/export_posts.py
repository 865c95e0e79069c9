import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from articles.intake.exporting import export_posts
from articles.models import Category


class Command(BaseCommand):
    help = (
        "Write every published article as a Jekyll post (YYYY-MM-DD-<info code>.md) into DIR, as the import reads them."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", metavar="DIR", help="where to write the posts (created if missing)")
        parser.add_argument(
            "--since", metavar="DATE", help="only articles published on or after DATE (YYYY-MM-DD, Beijing)"
        )
        parser.add_argument("--category", metavar="SLUG", help="only the articles of this category")

    def handle(self, *args, folder, since, category, **options):
        since_moment = None
        if since:
            try:
                since_moment = timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(since), dt.time.min))
            except ValueError:
                raise CommandError(f"--since must be a date such as 2022-01-07, not {since!r}") from None
        chosen = None
        if category:
            chosen = Category.objects.filter(slug=category).first()
            if chosen is None:
                raise CommandError(f"no category with the slug {category!r}")
        destination = Path(folder)
        if destination.exists() and not destination.is_dir():
            raise CommandError(f"{destination} exists and is not a folder")
        count = export_posts(destination, since=since_moment, category=chosen)
        self.stdout.write(self.style.SUCCESS(f"Exported {count} articles to {destination}."))
