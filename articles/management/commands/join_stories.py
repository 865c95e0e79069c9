from django.core.management.base import BaseCommand

from articles.stories import join_stored_stories


class Command(BaseCommand):
    help = (
        "Join the stored articles that are one story (the same East Money item in several categories); "
        "articles an editor changed are reported, not joined."
    )

    def handle(self, *args, verbosity, **options):
        joined, kept_apart = join_stored_stories()
        for article, lead in joined if verbosity >= 2 else []:
            self.stdout.write(f"joined {article.info_code} to {lead.info_code}")
        for article, lead in kept_apart:
            self.stderr.write(
                self.style.WARNING(
                    f"kept apart {article.info_code} and {lead.info_code}: an editor changed one of them "
                    "(join them in the admin: 同一新闻)"
                )
            )
        self.stdout.write(self.style.SUCCESS(f"{len(joined)} joined, {len(kept_apart)} kept apart."))
