from django.core.management.base import BaseCommand

from articles.intake.naming import name_stored_stocks


class Command(BaseCommand):
    help = (
        "Name the stored stocks that have no name from their articles (中国太保（601601）); names are never replaced."
    )

    def handle(self, *args, verbosity, **options):
        named = name_stored_stocks()
        for stock, name in named if verbosity >= 2 else []:
            self.stdout.write(f"{stock.market} {stock.code}: {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(named)} stocks named."))
