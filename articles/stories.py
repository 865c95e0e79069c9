"""One story, once: the scraper mirrors an East Money item into several categories.

``2022-05-31-202205312398034850.md`` (emnews) and ``2022-05-31-NW202205312398034850.md``
(cailianshe) are one news item. Articles that are the same item (the same number with or without
the ``NW`` prefix), or that carry the same title within STORY_WINDOW of each other in different
categories, are one story: the first one is its lead, whose page readers get, and the others are
its copies (``Article.story``). Each category still lists its copy; everything else shows the
story once. An article an editor changed is never joined by the rules: the import reports it.
"""

import datetime as dt
import functools
import re
import unicodedata
from collections import defaultdict
from typing import NamedTuple

from django.db.models import Q
from django.utils import timezone

from .models import Article

STORY_WINDOW_MINUTES = 60
_NOT_TITLE_TEXT = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=4096)
def title_key(title):
    """A title as compared for the story rule: width, case, spaces and punctuation ignored."""
    return _NOT_TITLE_TEXT.sub("", unicodedata.normalize("NFKC", title)).casefold()


def item_number(info_code):
    """East Money's number of the item: the info code without its NW prefix."""
    return info_code[2:] if info_code.startswith("NW") else info_code


def lead_for(article):
    """The lead of the story ``article`` belongs to by the rules (an article stored before it), or None."""
    same_item = _same_item(article.info_code)
    start, end = _window(article.published_at)
    candidates = Article.objects.filter(Q(info_code__in=same_item) | Q(published_at__range=(start, end)))
    if article.pk is not None:
        # A story's lead is its first article: only those stored before this one can lead it.
        earlier = Q(created_at__lt=article.created_at) | Q(created_at=article.created_at, pk__lt=article.pk)
        candidates = candidates.filter(earlier)
    rows = candidates.order_by("created_at", "id").values_list(*Candidate._fields)
    return _first_lead(article, same_item, map(Candidate._make, rows))


class Candidate(NamedTuple):
    """What the rules read of a stored article that another may join."""

    pk: int
    info_code: str
    title: str
    category_id: int
    story_id: int | None
    published_at: dt.datetime
    created_at: dt.datetime


class BatchLeads:
    """lead_for() for the new articles of one import batch, reading the stored articles a few times a
    batch (a window of READ_AHEAD at a time: posts come in date order) instead of once an article,
    which was a tenth of the import's writer (bench/, row 1c).

    ``info_codes`` are the batch's: the stored articles of the same items are read with the first
    window. What the batch writes must be told (written()): a later article may join it. Good for
    one transaction: after a rollback, start another.
    """

    READ_AHEAD = dt.timedelta(days=1)

    def __init__(self, info_codes):
        self._same_items = set().union(*map(_same_item, info_codes)) if info_codes else set()
        self._rows = None  # {pk: Candidate}
        # The rows by the hour of their publication and by info code: an article's candidates are
        # found among a few, not among all those the batch read and wrote (once each).
        self._by_hour = defaultdict(dict)
        self._by_code = defaultdict(set)
        self._read_span = None  # (start, end): every article published in it is in _rows

    def lead_for(self, article):
        """lead_for(article) for a new ``article`` (one not stored yet)."""
        start, end = _window(article.published_at)
        if self._read_span is None or not (self._read_span[0] <= start and end <= self._read_span[1]):
            # From the start of its day: post files are named, and imported, by day but not by time
            # within it (their info codes sort otherwise), so the day's others need no read of their own.
            day_start = timezone.localtime(article.published_at).replace(hour=0, minute=0, second=0, microsecond=0)
            self._read(min(start, _window(day_start)[0]), end + self.READ_AHEAD)
        same_item = _same_item(article.info_code)
        rows = {pk: self._rows[pk] for code in same_item for pk in self._by_code.get(code, ())}
        for hour in range(_hour(start), _hour(end) + 1):
            rows.update(
                (pk, row) for pk, row in self._by_hour.get(hour, {}).items() if start <= row.published_at <= end
            )
        return _first_lead(article, same_item, sorted(rows.values(), key=lambda row: (row.created_at, row.pk)))

    def written(self, article):
        """``article`` was saved (created or changed) in this batch's transaction."""
        if self._rows is not None:
            self._add(Candidate(*(getattr(article, name) for name in Candidate._fields)))

    def _read(self, start, end):
        wanted = Q(published_at__range=(start, end))
        if self._rows is None:
            self._rows = {}
            wanted |= Q(info_code__in=self._same_items)
        for row in Article.objects.filter(wanted).values_list(*Candidate._fields):
            self._add(Candidate._make(row))
        self._read_span = (start, end)

    def _add(self, row):
        old = self._rows.get(row.pk)
        if old is not None:
            self._by_hour[_hour(old.published_at)].pop(old.pk, None)
            self._by_code[old.info_code].discard(old.pk)
        self._rows[row.pk] = row
        self._by_hour[_hour(row.published_at)][row.pk] = row
        self._by_code[row.info_code].add(row.pk)


def _hour(moment):
    return int(moment.timestamp() // 3600)


def _same_item(info_code):
    """The info codes of the item ``info_code`` names (with and without NW), but itself."""
    number = item_number(info_code)
    return {number, f"NW{number}"} - {info_code}


def _window(published_at):
    window = dt.timedelta(minutes=STORY_WINDOW_MINUTES)
    return published_at - window, published_at + window


def _first_lead(article, same_item, candidates):
    """The lead ``article`` joins by the rules among ``candidates`` (Candidates, first stored first), or None."""
    key = title_key(article.title)
    for row in candidates:
        if row.info_code in same_item:
            return Article.objects.get(pk=row.story_id or row.pk)
        if key and row.category_id != article.category_id and title_key(row.title) == key:
            lead = Article.objects.get(pk=row.story_id or row.pk)
            # Two articles of one category with one title are two items (a daily 午间公告, say).
            if article.category_id not in {lead.category_id, *lead.copies.values_list("category_id", flat=True)}:
                return lead
    return None


def join_stored_stories():
    """Apply the rules to every stored article, oldest first; return (joined, kept apart) articles.

    An article or lead that an editor changed is kept apart (an editor joins them in the admin).
    """
    from . import publishing

    joined, kept_apart = [], []
    for article in Article.objects.filter(story__isnull=True).order_by("created_at", "id").iterator():
        lead = lead_for(article)
        if lead is None:
            continue
        if article.edited_since_import or lead.edited_since_import:
            kept_apart.append((article, lead))
        else:
            publishing.join_story(article, lead)
            joined.append((article, lead))
    return joined, kept_apart
