"""The content version: what every cached page and per-version fact is stored under.

Any change to what pages show (an article, category, tag or stock written through
articles/publishing.py, by the import or in the admin) moves the version on once the transaction
commits, so the next request renders afresh. A scheduled article appears without any write, so the
version also moves on when the earliest scheduled article's time arrives. The page cache itself is
in middleware.py.
"""

import datetime as dt
import time

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

VERSION_KEY = "finews:content-version"
# These two hold (version, value): read together with the version in one round trip, they count
# only when their version is the current one.
NEXT_PUBLICATION_KEY = "finews:next-publication"
NO_SCHEDULED_ARTICLE = "none"
# How long the facts kept per content version (next scheduled time, list counts) may stay in the
# cache; they are keyed by version, so this bounds memory, not staleness.
VERSION_FACTS_SECONDS = 600


def content_changed():
    """Invalidate every cached page once the current transaction commits (at once outside one)."""
    transaction.on_commit(_bump_version)


def _fresh_version():
    # A lost version (Redis restarted or evicted it) must not restart at a number whose pages may
    # still be cached: start again from the clock, in milliseconds, always past any earlier value.
    return time.time_ns() // 1_000_000


def _bump_version():
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, _fresh_version(), timeout=None)


def current_version(read=None):
    """The content version, moved on first if a scheduled article has come due.

    ``read`` is what a get_many() of VERSION_KEY and NEXT_PUBLICATION_KEY (and perhaps more)
    returned, for callers that fetch those with their own keys in one round trip.
    """
    if read is None:
        read = cache.get_many([VERSION_KEY, NEXT_PUBLICATION_KEY])
    version = read.get(VERSION_KEY)
    if version is None:
        version = cache.get_or_set(VERSION_KEY, _fresh_version, timeout=None)
    next_publication = _next_publication(version, read.get(NEXT_PUBLICATION_KEY))
    if next_publication is not None and next_publication <= timezone.now():
        _bump_version()
        version = cache.get(VERSION_KEY, version)
    return version


def _next_publication(version, stored):
    """When the earliest scheduled article comes due; ``stored`` is the cached (version, time)."""
    from ..models import Article

    if stored is None or stored[0] != version:
        upcoming = Article.objects.scheduled().order_by("published_at").values_list("published_at", flat=True).first()
        stored = (version, upcoming.timestamp() if upcoming else NO_SCHEDULED_ARTICLE)
        cache.set(NEXT_PUBLICATION_KEY, stored, timeout=VERSION_FACTS_SECONDS)
    if stored[1] == NO_SCHEDULED_ARTICLE:
        return None
    return dt.datetime.fromtimestamp(stored[1], tz=dt.UTC)
