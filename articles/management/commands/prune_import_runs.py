from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from articles.intake.runs import prune_runs


class Command(BaseCommand):
    help = "Delete the records of import runs (导入记录) older than --days days, with their problem files."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.IMPORT_RUNS_KEEP_DAYS,
            help=f"keep the runs of the last DAYS days (default {settings.IMPORT_RUNS_KEEP_DAYS}, IMPORT_RUNS_KEEP_DAYS)",
        )

    def handle(self, *args, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        deleted = prune_runs(days)
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} import runs older than {days} days."))
