"""The page cache: anonymous GETs of public pages, served whole from the cache, never stale.

A page is kept under its scheme, host, path and the query parameters pages read, with the content
version it was rendered at; it counts only while that version is current. Pages embed their scheme
and host (canonical links, og:url, feed links), so a page rendered for one host is never served to
another. Any other query parameter is dropped by a redirect to the clean URL: otherwise every
``?junk=N`` would store a page of its own.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponsePermanentRedirect, QueryDict
from django.utils.cache import get_conditional_response

from ..metrics import PAGE_CACHE
from . import NEXT_PUBLICATION_KEY, VERSION_KEY, current_version

PAGE_KEY = "finews:page:{digest}"
# The query parameters that public pages read (lists, archives, sitemap sections, staff preview).
PAGE_PARAMETERS = ("page", "p", "preview")
# Responses that vary on request headers other than these cannot be stored under the URL alone.
# Cookie is safe: only requests without a session cookie are cached, and they all get one page.
KEYED_VARY_HEADERS = {"cookie"}


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


class PublicPageCacheMiddleware:
    """Serves anonymous GET requests for public pages from the cache.

    Requests that carry a session (editors, who may preview drafts), the admin, search (its keys
    are whatever a visitor types) and media are never cached; nor are responses that set cookies,
    are not 200 or vary on more than the key holds. A cached page's ETag is its content version,
    so a conditional request is answered before anything is rendered or read.
    """

    # The API sends its own ETags, and its query parameters are its filters.
    EXCLUDED_PREFIXES = ("/admin/", "/api/", "/healthz", "/metrics", "/static/", "/media/", "/search/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._cacheable_request(request):
            return self.get_response(request)
        query = clean_query(request.GET)
        if query != request.META.get("QUERY_STRING", ""):
            return HttpResponsePermanentRedirect(f"{request.path}?{query}" if query else request.path)
        address = f"{request.scheme}://{request.get_host()}{request.path}?{query}"
        key = PAGE_KEY.format(digest=hashlib.sha256(address.encode()).hexdigest())
        # One round trip: the version, the next scheduled time and the page as last stored.
        read = cache.get_many([VERSION_KEY, NEXT_PUBLICATION_KEY, key])
        version = current_version(read)
        etag = f'W/"{version}"'
        not_modified = get_conditional_response(request, etag=etag)
        if not_modified is not None:
            not_modified.headers["ETag"] = etag
            return self._counted(request, "not_modified", not_modified)
        stored = read.get(key)
        if stored is not None and stored[0] == version:
            return self._counted(request, "hit", stored[1])
        response = self._counted(request, "miss", self.get_response(request))
        if self._cacheable_response(response):
            response.headers["ETag"] = etag
            cache.set(key, (version, response), settings.PAGE_CACHE_SECONDS)
        return response

    def _counted(self, request, result, response):
        request.page_cache_result = result
        PAGE_CACHE.labels(result).inc()
        return response

    def _cacheable_request(self, request):
        return (
            settings.PAGE_CACHE_SECONDS > 0
            and request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.path.startswith(self.EXCLUDED_PREFIXES)
        )

    def _cacheable_response(self, response):
        if response.status_code != 200 or response.cookies or response.streaming:
            return False
        varies_on = {header.strip().lower() for header in response.get("Vary", "").split(",") if header.strip()}
        return varies_on <= KEYED_VARY_HEADERS
