import ipaddress
from functools import lru_cache

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from django.conf import settings

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
    """The address of the client as the outermost trusted proxy saw it (login throttling and
    /metrics key on it): a string such as ``"203.0.113.7"``.

    The connection's peer (REMOTE_ADDR) is believed. While that peer is one of
    ``settings.TRUSTED_PROXIES`` (addresses or networks, e.g. ``["127.0.0.1", "10.0.0.0/24"]``), the
    address it appended to X-Forwarded-For is the one before it, and so on from the right: the first
    address that is not a trusted proxy is the client. Entries further left were written by the
    client itself and are never believed. This is nginx's ``real_ip_recursive on`` rule. A fixed
    number of hops (python-ipware's proxy_count, and its proxy_list, which matches the list against
    that many trailing entries in order) gave every reader the proxy's address as soon as one more
    proxy sat in front (nginx → Varnish → gunicorn). A malformed entry ends the walk at the last
    address a trusted proxy vouched for.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    address = _parsed(peer)
    if address is None:
        return peer
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))
    while hops and _within(address, trusted):
        forwarded = _parsed(hops.pop())
        if forwarded is None:
            break
        address = forwarded
    return str(address)


def address_allowed(address, allowed):
    """Whether ``address`` (a string; junk is never allowed) is in ``allowed``: addresses or networks."""
    parsed = _parsed(address)
    return parsed is not None and _within(parsed, _networks(tuple(allowed)))


@lru_cache(maxsize=8)
def _networks(entries):
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _within(address, networks):
    return any(address in network for network in networks if network.version == address.version)


def _parsed(text):
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # gunicorn on a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    return getattr(address, "ipv4_mapped", None) or address
