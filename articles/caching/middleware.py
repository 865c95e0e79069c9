"""The page cache, conditional requests, and what shared caches in front are told: anonymous GETs
of public pages.

A page is kept under its scheme, host, path and the query parameters pages read, with the content
version it was rendered in (caching.content_version): it is served while that version is current.
Pages embed their scheme and host (canonical links, og:url, feed links), so a page rendered for one
host is never served to another. Any other query parameter is dropped by a redirect to the clean
URL, a page number that is not one is a 404, and ``preview`` is only for editors: otherwise every
``?junk=N`` would store a page of its own.

Conditional requests are answered by the content version (caching.conditional: Django's
condition()), before the page is looked up or rendered. Every anonymous public page, search
included, tells shared caches (Varnish, a CDN) its keys in ``xkey`` and that they may keep it
(``s-maxage``: until the next moment that changes it, moments.py; ``stale-if-error``), while
browsers revalidate it. Nothing with a session, and nothing that sets a cookie, is ever shared.
"""

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import http_date

from articles.operations.metrics import PAGE_CACHE

from . import VERSION_KEYS, answering, conditional, content_version, front, keys

PAGE_KEY = "finews:page:{digest}"
# The query parameters that pages read: a list's or archive's page, a sitemap section's.
PAGE_NUMBER_PARAMETERS = ("page", "p")
# Staff preview of drafts and scheduled articles: only with a session, never kept.
PREVIEW_PARAMETER = "preview"
# Responses that vary on request headers other than these cannot be stored under the URL alone.
# Cookie is safe: only requests without a session cookie are cached, and they all get one page.
KEYED_VARY_HEADERS = {"cookie"}
# The header Varnish's xkey reads; Fastly's Surrogate-Key or Cloudflare's Cache-Tag take the same keys.
SURROGATE_KEY_HEADER = "xkey"


class NoSuchPage(Http404):
    """A list asked for a page it does not have: its 404 page links to its first page
    (articles.site.views.page_not_found)."""


def clean_query(query):
    """The query string of ``query`` (a QueryDict) with only PAGE_NUMBER_PARAMETERS, in a fixed
    form: each keeps its last value without leading zeros, and page 1 is the page without one.

    Raises NoSuchPage (a 404) for a page number that is not a positive whole number.
    """
    # Written out rather than by a QueryDict's urlencode() (the same text for whole numbers): every
    # cache hit of a numbered page runs this.
    clean = []
    for name in PAGE_NUMBER_PARAMETERS:
        if name in query:
            value = query[name]
            if not (value.isascii() and value.isdigit() and int(value) > 0):
                raise NoSuchPage(f"没有第 {value[:20]} 页。")
            if int(value) > 1:
                clean.append(f"{name}={int(value)}")
    return "&".join(clean)


def mark_paginated(request):
    """Called by the views that read a page number: elsewhere, one is dropped by a redirect."""
    request.paginated = True


@dataclass
class StoredPage:
    """A page as the cache keeps it."""

    response: object
    # The content version (its str()) it was rendered in: it is served while that is current.
    version: str
    # The surrogate keys of what it shows.
    keys: frozenset


@dataclass(frozen=True)
class Sharing:
    """What shared caches are told of a response: they may keep it until a purge of one of
    ``keys`` (None: not known, for a 304) or the next moment that changes it."""

    version: object
    keys: frozenset | None

    def apply(self, response):
        seconds = settings.FRONT_CACHE_SECONDS
        changes_at = self.version.next_change(None if self.keys is None else {keys.ALL, *self.keys})
        if changes_at is not None:
            seconds = max(0, min(seconds, math.ceil(changes_at - timezone.now().timestamp())))
        patch_cache_control(
            response,
            public=True,
            max_age=0,
            s_maxage=seconds,
            stale_if_error=settings.FRONT_CACHE_STALE_IF_ERROR_SECONDS,
        )
        if self.keys is not None:
            response.headers[SURROGATE_KEY_HEADER] = " ".join(sorted({keys.ALL, *self.keys}))
        # The version this page was begun in: Varnish keeps no page begun before one it has purged.
        response.headers[front.ANNOUNCED_HEADER] = str(self.version.number)
        return response


class PublicPageCacheMiddleware:
    """Serves anonymous GET requests for public pages from the cache, answers conditional
    requests, and tells shared caches what they may keep.

    Requests that carry a session (editors, who may preview drafts), the admin, the API, search
    (its keys are whatever a visitor types) and media are never kept here; nor are responses that
    set cookies, are not 200 or vary on more than the key holds.
    """

    # Never shared: the admin and the API (which answers conditional requests itself), health,
    # metrics; static files and covers have their own long-lived headers.
    PRIVATE_PREFIXES = ("/admin/", "/api/", "/healthz", "/metrics", "/static/", "/media/")
    # Shared caches may keep search results (purged by SITE like every list), this cache does not.
    UNKEPT_PREFIXES = ("/search/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._public_request(request):
            response = self.get_response(request)
            if settings.SESSION_COOKIE_NAME in request.COOKIES:
                patch_cache_control(response, private=True)
            return response
        query = clean_query(request.GET)
        # /search?q=… (a browser's site search, an address typed by hand) is search too: its query
        # must reach CommonMiddleware, which adds the slash and keeps it, not be cleaned away here.
        kept = not f"{request.path}/".startswith(self.UNKEPT_PREFIXES)
        if PREVIEW_PARAMETER in request.GET:
            # Only an editor's session previews: a reader is sent to the page readers get.
            other = request.GET.copy()
            other.pop(PREVIEW_PARAMETER)
            return HttpResponseRedirect(f"{request.path}?{query if kept else other.urlencode()}".rstrip("?"))
        if kept and query != request.META.get("QUERY_STRING", ""):
            return HttpResponsePermanentRedirect(f"{request.path}?{query}" if query else request.path)
        key = None
        if kept and settings.PAGE_CACHE_SECONDS > 0:
            address = f"{request.scheme}://{request.get_host()}{request.path}?{query}"
            key = PAGE_KEY.format(digest=hashlib.sha256(address.encode()).hexdigest())
        # One round trip: the content version and the page as stored.
        read = cache.get_many([*VERSION_KEYS, *([key] if key else [])])
        request.content_version = content_version(read)
        with answering(request.content_version):
            response = conditional(lambda request: self._page(request, key, read.get(key)))(request)
        if response.status_code == 304:
            self._counted(request, "not_modified")
            return Sharing(request.content_version, keys=None).apply(response)
        if response.status_code == 200:
            # One rule: the version's, even where a view set its own (a feed's newest entry's time).
            response.headers["ETag"] = request.content_version.etag
            response.headers["Last-Modified"] = http_date(request.content_version.last_modified)
        else:
            # Conditional headers belong to a page: not to a redirect, a 404 or an error.
            for header in ("ETag", "Last-Modified"):
                response.headers.pop(header, None)
        return response

    def _page(self, request, key, stored):
        version = request.content_version
        if stored is not None and stored.version == str(version):
            self._counted(request, "hit")
            return Sharing(version, stored.keys).apply(stored.response)
        with keys.collecting() as page_keys:
            response = self.get_response(request)
        if key:
            self._counted(request, "miss")
        paginated = getattr(request, "paginated", False)
        if set(PAGE_NUMBER_PARAMETERS) & set(request.GET) and not paginated and response.status_code == 200:
            # A page number on a page that has none: one address, not one per number (a missing
            # page stays a 404, not a redirect to its missing first page).
            return HttpResponsePermanentRedirect(request.path)
        if not self._cacheable_response(response):
            return response
        if key:
            cache.set(key, StoredPage(response, str(version), frozenset(page_keys)), settings.PAGE_CACHE_SECONDS)
        return Sharing(version, frozenset(page_keys)).apply(response)

    def _counted(self, request, result):
        request.page_cache_result = result
        PAGE_CACHE.labels(result).inc()

    def _public_request(self, request):
        return (
            request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.path.startswith(self.PRIVATE_PREFIXES)
        )

    def _cacheable_response(self, response):
        if response.status_code != 200 or response.cookies or response.streaming:
            return False
        if "private" in response.get("Cache-Control", "") or "no-store" in response.get("Cache-Control", ""):
            return False
        varies_on = {header.strip().lower() for header in response.get("Vary", "").split(",") if header.strip()}
        return varies_on <= KEYED_VARY_HEADERS
