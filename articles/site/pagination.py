"""Paginating article lists: counts and deep-page anchors kept per content version."""

import hashlib

from django.core.cache import cache
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from articles.caching import VERSION_FACTS_SECONDS, current_version

COUNT_KEY = "finews:count:{version}:{list}"
ANCHOR_KEY = "finews:anchor:{version}:{list}:{end}:{position}"
# A deep row's key is found from the start of its group of this many pages (an anchor, kept too).
ANCHOR_PAGES = 50
# Rows this close to either end of a list are read with an OFFSET; those further in, from a kept key.
DIRECT_ROWS = 100


class CountedPaginator(Paginator):
    """A paginator that counts once per content version: ``list_key`` names the list (its path);
    any change to the content moves the version on, so the count is never stale."""

    def __init__(self, *args, list_key, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_key = hashlib.sha256(list_key.encode()).hexdigest()

    @cached_property
    def version(self):
        """The content version this paginator's count (and anchors) belong to, read once."""
        return current_version()

    @cached_property
    def count(self):
        key = COUNT_KEY.format(version=self.version, list=self.list_key)
        return cache.get_or_set(key, lambda: Paginator.count.func(self), VERSION_FACTS_SECONDS)


class ArticlePaginator(CountedPaginator):
    """A paginator of articles, newest first, that counts once per content version (a
    400,000-article category takes ~30 ms to count) and keeps its deep pages' anchors too.

    A deep page read with OFFSET walks every article before it: page 10,000 of a category of a
    million articles took 40 ms, and the rows an OFFSET skips cost more the larger the database.
    So a page is read from the nearer end of the list (past the middle, oldest first, and turned
    around), and, unless it starts within DIRECT_ROWS of that end, from its own first row (its
    anchor: (published_at, pk), kept per version) by an index range of just its rows. An anchor
    is found once per version from the start of its group of ANCHOR_PAGES pages (``anchor_pages``,
    when given, sets the group's size: 1 makes every page a group). ``object_list`` must be
    ordered by (-published_at, -pk), or by the two fields ``order`` names (a list read from its
    own index: ArticleQuerySet.under_stock); ``oldest_first`` numbers the pages from its other end.
    """

    def __init__(self, *args, anchor_pages=None, oldest_first=False, order=("published_at", "pk"), **kwargs):
        super().__init__(*args, **kwargs)
        self.anchor_pages = anchor_pages
        self.oldest_first = oldest_first
        self.order = order

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        # Past the middle the other end is nearer: the page is read from there and turned around.
        if self.count - top < bottom:
            rows = list(self._rows(self.count - top, self.count - bottom, from_oldest=not self.oldest_first))[::-1]
        else:
            rows = self._rows(bottom, top, from_oldest=self.oldest_first)
        return self._get_page(rows, number, self)

    def _rows(self, start, stop, from_oldest):
        """The rows at positions ``start`` to ``stop - 1`` counted from the newest end (or the
        oldest), in that end's order: a query set, or a list."""
        ordered = self._ordered(from_oldest)
        if start < DIRECT_ROWS:
            return ordered[start:stop]
        return list(self._from(ordered, self._anchor(start, from_oldest), from_oldest)[: stop - start])

    def _ordered(self, from_oldest):
        return self.object_list.reverse() if from_oldest else self.object_list

    def _from(self, rows, anchor, from_oldest):
        """``rows``, read from one end, from the row ``anchor`` = (published_at, pk) on, itself
        included: a range on the date (which the list's index serves), less the ties before it."""
        (date, key), (published_at, pk) = self.order, anchor
        if from_oldest:
            return rows.filter(**{f"{date}__gte": published_at}).exclude(**{date: published_at, f"{key}__lt": pk})
        return rows.filter(**{f"{date}__lte": published_at}).exclude(**{date: published_at, f"{key}__gt": pk})

    def _anchor_key(self, position, from_oldest):
        end = "oldest" if from_oldest else "newest"
        return ANCHOR_KEY.format(version=self.version, list=self.list_key, end=end, position=position)

    def _anchor(self, position, from_oldest):
        """(published_at, pk) of the row at ``position`` from one end, kept per content version."""
        key = self._anchor_key(position, from_oldest)
        return cache.get_or_set(key, lambda: self._find_anchor(position, from_oldest), VERSION_FACTS_SECONDS)

    def _find_anchor(self, position, from_oldest):
        """The key of the row at ``position`` from one end, read from an index: in the first group,
        by an OFFSET from the end; in a later one, from the group's start (an anchor too); a
        group's start from the one before it when that is kept (a crawler reading on), else by an
        OFFSET from the end (over at most half the list, the other half being read from its end)."""
        keys = self._ordered(from_oldest).values_list(*self.order)
        group = self.per_page * (self.anchor_pages or ANCHOR_PAGES)
        start = position - position % group
        if start == 0:
            return keys[position]
        if start != position:
            return self._from(keys, self._anchor(start, from_oldest), from_oldest)[position - start]
        previous = cache.get(self._anchor_key(start - group, from_oldest)) if start >= group else None
        if previous is not None:
            return self._from(keys, previous, from_oldest)[group]
        return keys[position]
