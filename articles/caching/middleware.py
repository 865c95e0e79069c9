"""The page cache, and what shared caches in front are told: anonymous GETs of public pages.

A page is kept under its scheme, host, path and the query parameters pages read, with the
surrogate keys of what it shows (the views name them: keys.depends_on) and the stamps those keys
had; it counts while no key has been announced since. Pages embed their scheme and host
(canonical links, og:url, feed links), so a page rendered for one host is never served to another.
Any other query parameter is dropped by a redirect to the clean URL: otherwise every ``?junk=N``
would store a page of its own.

Every anonymous public page, search included, tells shared caches (Varnish, a CDN) its keys in
``xkey`` and that they may keep it (``s-maxage``, ``stale-if-error``), while browsers revalidate
it by its ETag. Nothing with a session, and nothing that sets a cookie, is ever shared.
"""

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponsePermanentRedirect, QueryDict
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control

from articles.operations.metrics import PAGE_CACHE

from . import (
    ANNOUNCED_KEY,
    NEXT_PUBLICATION_KEY,
    announce_due_articles,
    announced_number,
    front,
    keys,
    stamp_page,
    still_current,
)

PAGE_KEY = "finews:page:{digest}"
# The query parameters that public pages read (lists, archives, sitemap sections, staff preview).
PAGE_PARAMETERS = ("page", "p", "preview")
# Responses that vary on request headers other than these cannot be stored under the URL alone.
# Cookie is safe: only requests without a session cookie are cached, and they all get one page.
KEYED_VARY_HEADERS = {"cookie"}
# The header Varnish's xkey reads; Fastly's Surrogate-Key or Cloudflare's Cache-Tag take the same keys.
SURROGATE_KEY_HEADER = "xkey"


def clean_query(query):
    """The query string of ``query`` (a QueryDict) with only PAGE_PARAMETERS, in a fixed form.

    Each parameter keeps its last value; a page number loses its leading zeros, and page 1 is the
    page without a number.
    """
    clean = QueryDict(mutable=True)
    for name in PAGE_PARAMETERS:
        if name in query:
            value = query[name]
            if name in ("page", "p") and value.isascii() and value.isdigit():
                value = str(int(value))
                if value == "1":
                    continue
            clean[name] = value
    return clean.urlencode()


@dataclass
class StoredPage:
    response: object
    etag: str
    # The announcement number when the request that rendered it began, and its keys' stamps then.
    announced: int
    stamps: dict

    def still_good(self, announced):
        return announced == self.announced or still_current(self.stamps)


class PublicPageCacheMiddleware:
    """Serves anonymous GET requests for public pages from the cache, and tells shared caches
    what they may keep.

    Requests that carry a session (editors, who may preview drafts), the admin, the API, search
    (its keys are whatever a visitor types) and media are never kept here; nor are responses that
    set cookies, are not 200 or vary on more than the key holds. A conditional request for a kept
    page is answered by its ETag before anything is rendered or read.
    """

    # Never shared: the admin and the API (which sends its own cache headers), health, metrics;
    # static files and covers have their own long-lived headers.
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
        key = None
        if not request.path.startswith(self.UNKEPT_PREFIXES) and settings.PAGE_CACHE_SECONDS > 0:
            query = clean_query(request.GET)
            if query != request.META.get("QUERY_STRING", ""):
                return HttpResponsePermanentRedirect(f"{request.path}?{query}" if query else request.path)
            address = f"{request.scheme}://{request.get_host()}{request.path}?{query}"
            key = PAGE_KEY.format(digest=hashlib.sha256(address.encode()).hexdigest())
        # One round trip: the last announcement, the next scheduled time and the page as stored.
        read = cache.get_many([ANNOUNCED_KEY, NEXT_PUBLICATION_KEY, *([key] if key else [])])
        upcoming, started = announce_due_articles(read), announced_number(read)
        stored = read.get(key) if key else None
        if stored is not None and stored.still_good(started):
            response = self._answered(request, stored.response, stored.etag, upcoming, started, stored.stamps)
            return self._counted(request, "hit" if response.status_code == 200 else "not_modified", response)
        with keys.collecting() as page_keys:
            response = self.get_response(request)
        if key:
            self._counted(request, "miss", response)
        if not self._cacheable_response(response):
            return response
        page_stamps = stamp_page({keys.ALL, *page_keys}, started)
        if page_stamps is None:
            return response
        etag = self._etag(response)
        answer = self._answered(request, response, etag, upcoming, started, page_keys)
        if key:
            cache.set(key, StoredPage(response, etag, started, page_stamps), settings.PAGE_CACHE_SECONDS)
        return answer

    def _etag(self, response):
        return f'W/"{hashlib.sha256(response.content).hexdigest()[:32]}"'

    def _answered(self, request, response, etag, upcoming, started, page_keys):
        """``response`` shared, or a 304 if the request already has it. The 304 carries the same
        headers: a shared cache revalidating its copy takes them (its keys and X-Announced)."""
        response.headers["ETag"] = etag
        self._share(response, upcoming, started, page_keys)
        not_modified = get_conditional_response(request, etag=etag)
        if not_modified is None:
            return response
        for header in ("ETag", "Cache-Control", SURROGATE_KEY_HEADER, front.ANNOUNCED_HEADER):
            not_modified.headers[header] = response.headers[header]
        return not_modified

    def _share(self, response, upcoming, started, page_keys):
        """Let shared caches keep ``response`` until a purge of its keys, or until the next
        scheduled article comes due (it may appear on this page), whichever comes first.
        ``started``: the announcement seen when the request began (front.ANNOUNCED_HEADER)."""
        seconds = settings.FRONT_CACHE_SECONDS
        if upcoming is not None:
            seconds = max(1, min(seconds, math.ceil((upcoming - timezone.now()).total_seconds())))
        patch_cache_control(
            response,
            public=True,
            max_age=0,
            s_maxage=seconds,
            stale_if_error=settings.FRONT_CACHE_STALE_IF_ERROR_SECONDS,
        )
        response.headers[SURROGATE_KEY_HEADER] = " ".join(sorted({keys.ALL, *page_keys}))
        response.headers[front.ANNOUNCED_HEADER] = str(started)
        return response

    def _counted(self, request, result, response):
        request.page_cache_result = result
        PAGE_CACHE.labels(result).inc()
        return response

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
