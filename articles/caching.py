"""Caching of public pages, never stale.

Every cached page is stored under the current *content version*. Any change to what pages show
(an article, category, tag or stock saved or deleted, by the import or in the admin) bumps the
version once the transaction commits, so the next request renders afresh. A scheduled article
appears without any write, so the version also moves on when the earliest scheduled article's
time arrives.
"""

import datetime as dt
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

VERSION_KEY = "finews:content-version"
NEXT_PUBLICATION_KEY = "finews:next-publication:{version}"
PAGE_KEY = "finews:page:{version}:{path}"
NO_SCHEDULED_ARTICLE = "none"


def content_changed(**kwargs):
    """Signal receiver: invalidate every cached page once the current transaction commits."""
    transaction.on_commit(_bump_version)


def _bump_version():
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 1, timeout=None)


def current_version():
    """The content version, moved on first if a scheduled article has come due."""
    version = cache.get_or_set(VERSION_KEY, 1, timeout=None)
    next_publication = _next_publication(version)
    if next_publication is not None and next_publication <= timezone.now():
        _bump_version()
        version = cache.get(VERSION_KEY, version)
    return version


def _next_publication(version):
    from .models import Article

    key = NEXT_PUBLICATION_KEY.format(version=version)
    stored = cache.get(key)
    if stored is None:
        upcoming = Article.objects.scheduled().order_by("published_at").values_list("published_at", flat=True).first()
        stored = upcoming.timestamp() if upcoming else NO_SCHEDULED_ARTICLE
        cache.set(key, stored, timeout=settings.PAGE_CACHE_SECONDS)
    if stored == NO_SCHEDULED_ARTICLE:
        return None
    return dt.datetime.fromtimestamp(stored, tz=dt.UTC)


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
        path_hash = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        key = PAGE_KEY.format(version=current_version(), path=path_hash)
        response = cache.get(key)
        if response is not None:
            return response
        response = self.get_response(request)
        if self._cacheable_response(response):
            cache.set(key, response, settings.PAGE_CACHE_SECONDS)
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
