import datetime as dt
import re

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from articles import publishing
from articles.models import Article, Category, StockReference, Tag

# How Django writes a time into SQLite (naive UTC, USE_TZ): its SQL date functions (used by the
# archive, the charts, a tag's and a stock's pages) read no other form.
DJANGO_SQLITE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?")


class Command(BaseCommand):
    help = (
        "List every stored article, category, tag and stock whose page cannot be addressed (a code or slug "
        "the URLs cannot carry), and on SQLite every time (of any installed app's table: revisions, users, "
        "sessions, login attempts) stored in another form than Django writes "
        "(2026-11-27T10:00:00, a bare date, text: SQL wrote it); exits 1 if there is one. The database "
        "refuses such codes and slugs since migration 0012, which repaired those before it: this finds any "
        "that a database loaded around it still holds. --repair-times writes each time that names one in "
        "Django's form (the same instant; a date alone, its midnight in Beijing). It also lists every article "
        "whose lists' cover rendition is missing or not made from its cover (the release before migration "
        "0023 replaced the cover; made before 0026), which --remake-list-covers makes again."
    )
    # Reads every row: for deploys and operators, not for each start.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair-times",
            action="store_true",
            help="on SQLite, write each time SQL stored in another form in Django's (the same instant; a "
            "date alone is its midnight in Beijing); run purge_cache after it",
        )
        parser.add_argument(
            "--repair-stock-listings",
            action="store_true",
            help="write again the stock lists (StockListing) of each article listed out of step with its stocks; "
            "run purge_cache after it",
        )
        parser.add_argument(
            "--remake-list-covers",
            action="store_true",
            help="make each article's lists' cover rendition listed again from its cover (about 65 ms a "
            "1600x1200 photo); run purge_cache after it",
        )

    def handle(self, *args, verbosity, repair_times, repair_stock_listings, remake_list_covers, **options):
        problems = self.check_addresses(verbosity) + self.check_copies() + self.check_list_covers(remake_list_covers)
        problems += self.check_stock_listings(repair_stock_listings) + self.check_statuses() + self.check_categories()
        if connection.vendor == "sqlite":
            problems += self.check_times(repair_times)
        if problems:
            raise CommandError(
                f"{problems} {'row needs' if problems == 1 else 'rows need'} an operator or an editor (listed above)"
            )
        self.stdout.write(self.style.SUCCESS("Every article, category, tag and stock has a URL."))
        self.stdout.write(self.style.SUCCESS("Every list cover is made from its article's cover."))
        if connection.vendor == "sqlite":
            self.stdout.write(self.style.SUCCESS("Every time is stored as Django writes it."))

    def check_addresses(self, verbosity):
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
        return problems

    def check_copies(self):
        """Copies whose lead's row is gone, deleted around the foreign key (sqlite3's shell checks
        none unless told to): their pages show them as stories of their own (Article.lead), but
        every list of stories (home page, feeds, sitemap, search) leaves them out as copies."""
        orphans = Article.objects.filter(story__isnull=False).exclude(story_id__in=Article.objects.values("pk"))
        problems = 0
        for pk, story_id in orphans.values_list("pk", "story_id").iterator():
            problems += 1
            self.stderr.write(
                f"{Article._meta.verbose_name} {pk} is the copy of article {story_id}, which is gone: the home page, "
                "feeds, sitemap and search leave it out; save it in the admin and it is a story of its own"
            )
        # Its story is itself or another copy (a ring, or a chain): its page shows it as a story
        # of its own (Article.lead), and the lists leave it out.
        for pk, story_id in Article.objects.filter(story__story__isnull=False).values_list("pk", "story_id").iterator():
            problems += 1
            self.stderr.write(
                f"{Article._meta.verbose_name} {pk} is the copy of article {story_id}, itself "
                f"{'this article' if story_id == pk else 'a copy'}: the home page, feeds, sitemap and search leave "
                "it out; choose its story's lead in the admin (同一新闻), or none"
            )
        return problems

    def check_categories(self):
        """Articles whose category's row is gone, deleted around the foreign key (sqlite3's shell
        checks none unless told to): every list, the admin's too, reads articles joined to their
        category and leaves them out, so the form's address is given."""
        problems = 0
        orphans = Article.objects.exclude(category_id__in=Category.objects.values("pk"))
        for pk, category_id in orphans.values_list("pk", "category_id").iterator():
            problems += 1
            self.stderr.write(
                f"{Article._meta.verbose_name} {pk} is in category {category_id}, which is gone: no page and no list "
                f"of the admin shows it; choose its category at /admin/articles/article/{pk}/change/"
            )
        return problems

    def check_statuses(self):
        """Articles whose status is none of the choices (SQL wrote it): no reader sees them, and the
        admin asks the editor to choose one."""
        problems = 0
        known = Article.Status.values
        for pk, status in Article.objects.exclude(status__in=known).values_list("pk", "status").iterator():
            problems += 1
            self.stderr.write(
                f"{Article._meta.verbose_name} {pk} has the status {status!r}, none of {', '.join(known)}: "
                "no reader sees it; choose one in the admin"
            )
        return problems

    def check_stock_listings(self, repair):
        """Articles whose stock lists (StockListing, what a stock's page reads) are not their
        stocks at their time (publishing.stock_listings_out_of_step), written again if ``repair``."""
        problems = 0
        for pk in publishing.stock_listings_out_of_step():
            where = f"{Article._meta.verbose_name} {pk}: its stock lists are out of step with its stocks or its time"
            if repair:
                publishing.relist_under_stocks(pk)
                self.stdout.write(f"{where}: written again")
            else:
                problems += 1
                self.stderr.write(f"{where} (a stock's page omits it, or lists it wrongly); --repair-stock-listings")
        return problems

    def check_list_covers(self, remake):
        """Articles whose lists' rendition is not their cover's (publishing.list_covers_to_remake),
        made again if ``remake``, a batch at a time: a listing on SQLite may not read a table being written."""
        problems = 0
        stale = publishing.list_covers_to_remake().only("pk", "cover_image", "cover_list_image", "cover_list_source")
        last = 0
        while batch := list(stale.filter(pk__gt=last).order_by("pk")[:200]):
            last = batch[-1].pk
            for article in batch:
                where = f"{Article._meta.verbose_name} {article.pk}: " + _list_cover_state(article)
                if not remake:
                    problems += 1
                    self.stderr.write(f"{where}; --remake-list-covers makes it again")
                    continue
                try:
                    remade = publishing.remake_list_cover(article)
                except (OSError, ValueError) as error:
                    problems += 1
                    self.stderr.write(f"{where}; its cover was not read ({error}): restore the media, or replace it")
                    continue
                if remade:
                    self.stdout.write(f"{where}: now {article.cover_list_image.name or 'none'}")
                else:
                    self.stdout.write(f"{where}: left, its cover was replaced meanwhile; run this again")
        return problems

    def check_times(self, repair):
        """Each time column of every installed app's tables, read as stored (the converter reads
        any form): the articles', and those other pages read too, by SQL's comparisons and order
        as well as in Python (a revision's time in 历史, a login attempt's in axes' lockout, a
        session's expiry on every request that carries one)."""
        problems = 0
        tables = set(connection.introspection.table_names())
        for model in apps.get_models():
            if not model._meta.managed or model._meta.proxy or model._meta.db_table not in tables:
                continue  # a view or another model's table; an app not migrated
            table, pk = model._meta.db_table, model._meta.pk.column
            for field in model._meta.concrete_fields:
                if not isinstance(field, models.DateTimeField):
                    continue
                with connection.cursor() as cursor:
                    cursor.execute(f'SELECT "{pk}", CAST("{field.column}" AS TEXT) FROM "{table}" '
                                   f'WHERE "{field.column}" IS NOT NULL')  # fmt: skip
                    odd = [(key, text) for key, text in cursor.fetchall() if not DJANGO_SQLITE_TIME.fullmatch(text)]
                for key, text in odd:
                    written, was_a_date = _in_django_form(text) if repair else (None, False)
                    where = f"{model._meta.verbose_name} {key}: {field.name} is stored as {text!r}"
                    if written is None:
                        problems += 1
                        self.stderr.write(
                            f"{where}, not as Django writes a time; --repair-times, or set it in the admin"
                        )
                        continue
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(f'UPDATE "{table}" SET "{field.column}" = %s WHERE "{pk}" = %s', [written, key])
                    # A date alone was read (finews/database.py) as its midnight in UTC, 08:00 in
                    # Beijing: written as its midnight in Beijing, its pages' time moves.
                    same = "its midnight in Beijing: pages showed 08:00" if was_a_date else "the same instant"
                    self.stdout.write(f"{where}: now {written!r} ({same})")
        return problems


def _list_cover_state(article):
    """How ``article``'s lists' rendition differs from its cover's, in words."""
    rendition, source = article.cover_list_image.name, article.cover_list_source
    if not article.cover_image:
        return f"the list cover {rendition} is left from a removed cover"
    if not rendition:
        return f"the cover {article.cover_image.name} has no list cover"
    made_from = repr(source) if source else "a cover not recorded (made before migration 0026)"
    return f"the list cover {rendition} is made from {made_from}, not from the cover {article.cover_image.name!r}"


def _in_django_form(text):
    """(``text`` as Django writes a time into SQLite, naive UTC, or None if it names no time; whether
    it was a date alone). ``text`` is a time SQL stored: ISO 8601 with a T, an offset, or a date
    alone, which is taken as its midnight in Beijing (TIME_ZONE). A time without an offset is UTC,
    as Django's own are."""
    try:
        day = parse_date(text)  # first: parse_datetime reads a date alone as its midnight in UTC
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time())) if day else parse_datetime(text)
    except ValueError:
        return None, False
    if moment is None:
        return None, False
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:  # before year 1 or after 9999 in UTC (0001-01-01T00:00:00+08:00)
            return None, day is not None
    return moment.isoformat(" "), day is not None
