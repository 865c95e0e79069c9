"""What changed, told to every cache: the page cache, the front cache, and the facts kept per version.

Every write of what pages show goes through articles/publishing.py, which names the surrogate keys
the change affects (keys.py) and calls ``content_changed(keys)``. Once the transaction commits,
each key is stamped with a new announcement number in the shared cache (a cached page stays good
while its keys carry the stamps they had when it was stored: middleware.py), the front caches are
told to purge those keys (front.py), and the content version moves on: facts kept per version
(list counts, deep-page anchors, charts, the API's ETag) are computed afresh.

A scheduled article appears without any write, so the first request after its time announces it
(``announce_due_articles``), and pages tell front caches to keep them no longer than that.
"""

import datetime as dt
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from finews import replicas

from . import front, keys

logger = logging.getLogger(__name__)

VERSION_KEY = "finews:content-version"
# Moves on at every announcement; each announced key is stamped with its new value.
ANNOUNCED_KEY = "finews:announced"
KEY_STAMP = "finews:key:{key}"
# Holds (announcement number, timestamp of the earliest scheduled article, or NO_SCHEDULED_ARTICLE).
NEXT_PUBLICATION_KEY = "finews:next-publication"
NO_SCHEDULED_ARTICLE = "none"
DUE_LOCK_KEY = "finews:announcing-due"
# How long the facts kept per content version (list counts, anchors) may stay in the cache; they
# are keyed by version, so this bounds memory, not staleness.
VERSION_FACTS_SECONDS = 600
# A key's stamp outlives every page stored with it (a lost stamp only makes those pages miss).
KEY_STAMP_SECONDS = 7 * 24 * 3600


def content_changed(affected):
    """Announce the keys ``affected`` once the current transaction commits (at once outside one)."""
    affected = set(affected)
    transaction.on_commit(lambda: announce(affected))


def announce(affected):
    """Stamp ``affected`` keys, purge them from the front caches, move the content version on.

    Returns the front caches that did not take the purge (logged; their pages expire by TTL).
    """
    affected = {keys.ALL} if settings.INVALIDATE_EVERYTHING else {key for key in affected if _valid(key)}
    if not affected:
        return []
    number = _next_number(ANNOUNCED_KEY)
    if number is None:
        # Redis is unreachable (finews/cache.py): nothing can be stamped, and the front caches may
        # only be told a number all of finews shares (they keep no page begun before it): 0, none.
        return front.purge(affected, 0)
    cache.set_many({KEY_STAMP.format(key=key): number for key in affected}, timeout=KEY_STAMP_SECONDS)
    _next_number(VERSION_KEY)
    return front.purge(affected, number)


def _valid(key):
    if keys.KEY_PATTERN.fullmatch(key):
        return True
    logger.error("Surrogate key %r is malformed; not announced (pages holding it expire by their TTL)", key)
    return False


def _next_number(name):
    """The shared counter ``name``, moved on; None while the shared cache is unreachable."""
    try:
        return cache.incr(name)
    except ValueError:
        # A lost counter (Redis restarted or evicted it) must not restart at a number already used:
        # start again from the clock, in milliseconds, always past any earlier value. (add: of two
        # processes restarting it at once, one sets it and both count on from there.)
        cache.add(name, time.time_ns() // 1_000_000, timeout=None)
    try:
        return cache.incr(name)
    except ValueError:
        return None


def stamp_page(page_keys, started):
    """The stamps of ``page_keys`` to keep a page with, rendered since announcement ``started``;
    None when anything was announced meanwhile (the page may show what was there before).

    A key never announced is stamped now, so that every kept page has a stamp for each key: a
    stamp that goes missing later (evicted) then means "changed", never "as before".
    """
    names = {key: KEY_STAMP.format(key=key) for key in page_keys}
    read = cache.get_many([ANNOUNCED_KEY, *names.values()])
    if announced_number(read) != started:
        return None
    missing = {name: started for name in names.values() if name not in read}
    if missing:
        cache.set_many(missing, timeout=KEY_STAMP_SECONDS)
        # An announcement between the read and this write may have had its stamp overwritten.
        if announced_number() != started:
            return None
    return {key: read.get(name, started) for key, name in names.items()}


def still_current(page_stamps):
    """Whether no key of a page kept with ``page_stamps`` has been announced since."""
    read = cache.get_many([KEY_STAMP.format(key=key) for key in page_stamps])
    return all(read.get(KEY_STAMP.format(key=key)) == stamp for key, stamp in page_stamps.items())


def announced_number(read=None):
    """The number of the last announcement (``read``: a get_many() that included ANNOUNCED_KEY)."""
    number = (read if read is not None else cache.get_many([ANNOUNCED_KEY])).get(ANNOUNCED_KEY)
    number = 0 if number is None else number
    # What is computed from here on is kept under this announcement: its data must include it.
    replicas.saw_announcement(number)
    return number


def current_version():
    """The content version, for the facts kept per version; announces scheduled articles that came due."""
    read = cache.get_many([VERSION_KEY, ANNOUNCED_KEY, NEXT_PUBLICATION_KEY])
    announce_due_articles(read)
    version = read.get(VERSION_KEY)
    if version is None:
        version = cache.get_or_set(VERSION_KEY, lambda: time.time_ns() // 1_000_000, timeout=None)
    return version


def next_publication(read):
    """When the earliest scheduled article comes due, or None; ``read`` holds ANNOUNCED_KEY and
    NEXT_PUBLICATION_KEY (one query when they are not current)."""
    from articles.models import Article

    number, stored = announced_number(read), read.get(NEXT_PUBLICATION_KEY)
    if stored is None or stored[0] != number:
        upcoming = Article.objects.scheduled().order_by("published_at").values_list("published_at", flat=True).first()
        stored = (number, upcoming.timestamp() if upcoming else NO_SCHEDULED_ARTICLE)
        cache.set(NEXT_PUBLICATION_KEY, stored, timeout=VERSION_FACTS_SECONDS)
    if stored[1] == NO_SCHEDULED_ARTICLE:
        return None
    return dt.datetime.fromtimestamp(stored[1], tz=dt.UTC)


def announce_due_articles(read):
    """Announce the scheduled articles whose time has come, once (the first request to see it does).

    Returns the next publication time still to come, or None. ``read`` as for next_publication();
    after an announcement it holds the numbers as they are now.
    """
    from articles.models import Article

    due = next_publication(read)
    if due is None or due > timezone.now():
        return due
    if cache.add(DUE_LOCK_KEY, True, timeout=30):
        try:
            came_due = Article.objects.published().filter(published_at__gte=due).values_list("pk", flat=True)
            announce(keys.article_change(after=keys.stored_states(came_due)))
            # Read afresh even if nothing was announced (the article was withdrawn meanwhile).
            cache.delete(NEXT_PUBLICATION_KEY)
        finally:
            cache.delete(DUE_LOCK_KEY)
    read.update(cache.get_many([ANNOUNCED_KEY, NEXT_PUBLICATION_KEY]))
    return next_publication(read)
