from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from django.conf import settings
from python_ipware import IpWare

# The admin's body editor is loaded through an inline <script type="importmap"> and Django's admin
# templates use style attributes; the public site allows neither.
ADMIN_POLICY_ADDITIONS = {"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE]}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the admin's two additions on /admin/ pages only."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if request.path.startswith("/admin/"):
            parts.update = {**ADMIN_POLICY_ADDITIONS, **(parts.update or {})}
        return parts


def client_address(request):
    """The address of the client behind ``settings.PROXY_COUNT`` proxies (login throttling keys on it).

    Each proxy appends to X-Forwarded-For the address it was reached from, so the client is the
    PROXY_COUNT-th entry from the right; entries further left were written by the client itself and
    are not believed (django-ipware's own strict mode would fall back to the proxy's address for
    them, the one address every user shares). Without proxies, or when a request came past them,
    it is the connection's address.
    """
    if settings.PROXY_COUNT:
        finder = IpWare(precedence=("HTTP_X_FORWARDED_FOR",), leftmost=True, proxy_count=settings.PROXY_COUNT - 1)
        address, _ = finder.get_client_ip(request.META, strict=False)
        if address is not None:
            return str(address)
    return request.META.get("REMOTE_ADDR")
