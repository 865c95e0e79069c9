from django.core.management.base import BaseCommand

from articles.search import rebuild_index


class Command(BaseCommand):
    help = "Write every article's full-text search index entry again, in place (search answers while it runs)."

    def handle(self, *args, verbosity, **options):
        show_progress = verbosity >= 1 and self.stdout.isatty()

        def progress(done, total):
            if show_progress:
                self.stdout.write(f"\r{done}/{total} articles", ending="")

        count = rebuild_index(progress)
        if show_progress:
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Indexed {count} articles."))
