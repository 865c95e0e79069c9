"""/healthz and /metrics answer whatever Host a request names, over plain HTTP too.

Their callers name no site: Varnish's probe and a load balancer's health check send the backend's
address as the Host (``127.0.0.1``), Prometheus its target (``127.0.0.1:8000``). Django's host
validation (ALLOWED_HOSTS) would answer them 400, and the HTTPS redirect 301, so Varnish served
only 503s behind an ALLOWED_HOSTS of the site's real name. Neither answer holds the host or
anything derived from it, so no other path loses its host validation; /metrics still checks the
client's address (METRICS_ALLOWED_IPS).
"""

from django.urls import resolve

HOST_INDEPENDENT_PATHS = frozenset({"/healthz", "/metrics"})


class HostIndependentEndpointsMiddleware:
    """Answers HOST_INDEPENDENT_PATHS with their views before host validation and the HTTPS redirect.

    Placed right after the metrics middleware (which still counts them) and before
    SecurityMiddleware and CommonMiddleware, the first to read the Host.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in HOST_INDEPENDENT_PATHS:
            return self.get_response(request)
        request.resolver_match = resolve(request.path_info)
        return request.resolver_match.func(request)
