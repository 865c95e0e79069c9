from django.core.management.base import BaseCommand, CommandError

from articles.operations import backups


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump, or SQLite's online backup) and the uploaded covers (MEDIA_ROOT) "
        "into a new folder finews-<UTC time> under FOLDER; prints that folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="where backups are kept, e.g. /srv/backups/finews")

    def handle(self, *args, folder, **options):
        try:
            backup = backups.back_up(folder)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Backed up to {backup}"))
