from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch

from articles.models import Article, Category, StockReference, Tag


class Command(BaseCommand):
    help = (
        "List every stored article, category, tag and stock whose page cannot be addressed (a code or slug "
        "the URLs cannot carry); exits 1 if there is one. The database refuses such rows since migration "
        "0012, which repaired those before it: this finds any that a database loaded around it still holds."
    )
    # Reads every row: for deploys and operators, not for each start.
    requires_system_checks = []

    def handle(self, *args, verbosity, **options):
        problems = 0
        for model, fields in ((Article, ("info_code", "slug", "story")), (Category, ("slug",)), (Tag, ("slug",)),
                              (StockReference, ("code", "market"))):  # fmt: skip
            checked = 0
            for row in model.objects.only("pk", *fields).iterator():
                checked += 1
                try:
                    row.get_absolute_url()
                except NoReverseMatch:
                    problems += 1
                    values = ", ".join(f"{field}={getattr(row, field)!r}" for field in fields if field != "story")
                    self.stderr.write(f"{model._meta.verbose_name} {row.pk} has no URL: {values}; fix it in the admin")
            if verbosity >= 2:
                self.stdout.write(f"{checked} {model._meta.verbose_name_plural} checked")
        if problems:
            raise CommandError(f"{problems} rows have no URL (listed above)")
        self.stdout.write(self.style.SUCCESS("Every article, category, tag and stock has a URL."))
