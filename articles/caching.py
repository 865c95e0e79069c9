"""Caching of public pages, never stale.

Every cached page is stored under the current *content version*. Any change to what pages show
(an article, category, tag or stock saved or deleted, by the import or in the admin) bumps the
version once the transaction commits, so the next request renders afresh. A scheduled article
appears without any write, so the version also moves on when the earliest scheduled article's
time arrives.
"""

import datetime as dt
import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.utils import timezone
from django.utils.functional import cached_property

VERSION_KEY = "finews:content-version"
# These two hold (version, value): read together with the version in one round trip, they count
# only when their version is the current one.
NEXT_PUBLICATION_KEY = "finews:next-publication"
PAGE_KEY = "finews:page:{path}"
COUNT_KEY = "finews:count:{version}:{list}"
ANCHOR_KEY = "finews:anchor:{version}:{list}:{position}"
NO_SCHEDULED_ARTICLE = "none"
# How long the facts kept per content version (next scheduled time, list counts) may stay in the
# cache; they are keyed by version, so this bounds memory, not staleness.
VERSION_FACTS_SECONDS = 600
# Pages past this many are found from an anchor: the row where their group of as many pages starts.
ANCHOR_PAGES = 50


def content_changed(**kwargs):
    """Signal receiver: invalidate every cached page once the current transaction commits."""
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
    from .models import Article

    if stored is None or stored[0] != version:
        upcoming = Article.objects.scheduled().order_by("published_at").values_list("published_at", flat=True).first()
        stored = (version, upcoming.timestamp() if upcoming else NO_SCHEDULED_ARTICLE)
        cache.set(NEXT_PUBLICATION_KEY, stored, timeout=VERSION_FACTS_SECONDS)
    if stored[1] == NO_SCHEDULED_ARTICLE:
        return None
    return dt.datetime.fromtimestamp(stored[1], tz=dt.UTC)


class PublicPageCacheMiddleware:
    """Serves anonymous GET requests for public pages from the cache.

    Requests that carry a session (editors, who may preview drafts) and the admin are never
    cached; nor are responses that set cookies or are not 200.
    """

    EXCLUDED_PREFIXES = ("/admin/", "/healthz", "/static/", "/media/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._cacheable_request(request):
            return self.get_response(request)
        key = PAGE_KEY.format(path=hashlib.sha256(request.get_full_path().encode()).hexdigest())
        # One round trip: the version, the next scheduled time and the page as last stored.
        read = cache.get_many([VERSION_KEY, NEXT_PUBLICATION_KEY, key])
        version = current_version(read)
        stored = read.get(key)
        if stored is not None and stored[0] == version:
            return stored[1]
        response = self.get_response(request)
        if self._cacheable_response(response):
            cache.set(key, (version, response), settings.PAGE_CACHE_SECONDS)
        return response

    def _cacheable_request(self, request):
        return (
            settings.PAGE_CACHE_SECONDS > 0
            and request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.path.startswith(self.EXCLUDED_PREFIXES)
        )

    def _cacheable_response(self, response):
        return response.status_code == 200 and not response.cookies and not response.streaming


class ArticlePaginator(Paginator):
    """A paginator of articles, newest first, that counts once per content version.

    ``list_key`` names the list (its path); any change to the content moves the version on, so
    neither the count (a 400,000-article category takes ~30 ms) nor an anchor is ever stale.

    A deep page read with OFFSET walks every article before it: page 10,000 of a category of a
    million articles took 40 ms. Past the first ANCHOR_PAGES pages, a page is read from the first
    row of its group of ANCHOR_PAGES pages (its anchor, found once per version and remembered)
    with an OFFSET of less than a group. ``object_list`` must be ordered by (-published_at, -pk).
    """

    def __init__(self, *args, list_key, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_key = hashlib.sha256(list_key.encode()).hexdigest()

    @cached_property
    def version(self):
        """The content version this paginator's count and anchors belong to, read once."""
        return current_version()

    @cached_property
    def count(self):
        key = COUNT_KEY.format(version=self.version, list=self.list_key)
        return cache.get_or_set(key, lambda: Paginator.count.func(self), VERSION_FACTS_SECONDS)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        group = self.per_page * ANCHOR_PAGES
        if bottom < group:
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        published_at, pk = self._anchor(bottom - bottom % group)
        # From the anchor on: older, or as old and not after it in the order.
        rows = self.object_list.filter(published_at__lte=published_at).exclude(published_at=published_at, pk__gt=pk)
        offset = bottom % group
        return self._get_page(list(rows[offset : offset + top - bottom]), number, self)

    def _anchor(self, position):
        """(published_at, pk) of the row at ``position`` in the list (read from an index alone)."""
        key = ANCHOR_KEY.format(version=self.version, list=self.list_key, position=position)
        return cache.get_or_set(
            key, lambda: self.object_list.values_list("published_at", "pk")[position], VERSION_FACTS_SECONDS
        )
