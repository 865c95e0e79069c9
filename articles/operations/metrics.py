"""Prometheus metrics at /metrics, for the addresses in METRICS_ALLOWED_IPS only.

prometheus-client is the official client: small, and its multiprocess mode adds up the counters of
every gunicorn worker (PROMETHEUS_MULTIPROC_DIR, see finews/gunicorn.py). django-prometheus would
bring database and model metrics we do not need, with the same client underneath.

What web workers count (requests, latency, the page cache, search) is kept per process; what the
import did is read from the database at each scrape, since the import runs in processes of its own
(cron, --watch) that a scrape cannot reach.
"""

import os
import time

from django.conf import settings
from django.db.models import Max
from django.http import Http404, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from .security import address_allowed, client_address

# A "_created" series for every series would double what is scraped, for nothing we use.
disable_created_metrics()

REQUESTS = Counter("finews_http_requests", "HTTP requests answered, by view and status.", ["view", "method", "status"])
LATENCY = Histogram("finews_http_request_duration_seconds", "Time to answer a request, by view.", ["view"])
PAGE_CACHE = Counter(
    "finews_page_cache_requests",
    "Public page requests by what the page cache did: hit, miss or not_modified.",
    ["result"],
)
SEARCH_LATENCY = Histogram("finews_search_duration_seconds", "Time to find a search page's results and count.")

# What a request that no view answered is counted under.
SERVED_BY_PAGE_CACHE, UNRESOLVED = "page-cache", "unresolved"
# Methods counted by name; any other (a client may send any word) is "other", so labels stay few.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class MetricsMiddleware:
    """Counts and times every request; outermost, so that it sees what the page cache answers too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        view = self._view_of(request)
        LATENCY.labels(view).observe(time.perf_counter() - started)
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        return response

    def _view_of(self, request):
        if getattr(request, "resolver_match", None) is not None:
            return request.resolver_match.view_name
        return SERVED_BY_PAGE_CACHE if getattr(request, "page_cache_result", None) else UNRESOLVED


class DatabaseCollector:
    """Import and content facts read at each scrape (three small queries)."""

    def collect(self):
        from articles.models import Article, ImportRun, ImportTotal

        files = CounterMetricFamily(
            "finews_import_files", "Post files the import has handled, by outcome.", labels=["outcome"]
        )
        for outcome, count in ImportTotal.objects.values_list("outcome", "files"):
            files.add_metric([outcome], count)
        yield files
        last = ImportRun.objects.filter(finished_at__isnull=False).aggregate(last=Max("finished_at"))["last"]
        yield GaugeMetricFamily(
            "finews_import_last_success_timestamp_seconds",
            "When an import run (or --watch cycle) last finished (rejected files do not make it fail).",
            value=last.timestamp() if last else 0,
        )
        yield GaugeMetricFamily(
            "finews_articles_published", "Articles readers can see now.", value=Article.objects.published().count()
        )


def metrics(request):
    if not address_allowed(client_address(request), settings.METRICS_ALLOWED_IPS):
        raise Http404
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY) + generate_latest(registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
