from django.core.management.base import BaseCommand, CommandError

from articles.operations import backups


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into the database DATABASE_URL names, which must be "
        "empty, and its covers into MEDIA_ROOT (a file there that differs from the backup's is never replaced)."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", help="the backup's folder, e.g. /srv/backups/finews/finews-20261126T020000Z")

    def handle(self, *args, backup, **options):
        try:
            manifest = backups.restore(backup)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {backup}: {manifest['articles']} articles, {manifest['media_files']} media files "
                f"(backed up {manifest['created']})"
            )
        )
