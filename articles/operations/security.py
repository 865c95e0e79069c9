import ipaddress
from functools import cache, lru_cache

from csp.constants import HEADER, HEADER_REPORT_ONLY, UNSAFE_INLINE
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# The admin's body editor is loaded through an inline <script type="importmap"> and Django's admin
# templates use style attributes; the public site allows neither.
ADMIN_POLICY_ADDITIONS = {"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE]}


# What get_policy_parts() gives when nothing but the settings makes a response's policy.
SETTINGS_ONLY = PolicyParts()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the admin's two additions on /admin/ pages only.

    A response whose policy is the settings' alone (no nonce used, no csp_* decorator, not the
    admin: every public page) gets the policy built once per process; django-csp builds it, and the
    report-only one, afresh for every response, the largest cost of a page-cache hit. Any other
    response is django-csp's own work.
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if request.path.startswith("/admin/"):
            parts.update = {**ADMIN_POLICY_ADDITIONS, **(parts.update or {})}
        return parts

    def process_response(self, request, response):
        if not (
            self.get_policy_parts(request, response) == SETTINGS_ONLY
            and self.get_policy_parts(request, response, report_only=True) == SETTINGS_ONLY
        ):
            return super().process_response(request, response)
        # django-csp's rules, with the policies the settings make.
        if response.status_code in (404, 500) and settings.DEBUG:
            return response
        for header, exempt, setting in (
            (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            policy = settings_policy(report_only=header == HEADER_REPORT_ONLY)
            excluded = tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())
            if (
                policy
                and header not in response
                and not getattr(response, exempt, False)
                and not request.path_info.startswith(excluded)
            ):
                response[header] = policy
        # No nonce was asked for: one asked for from now on could not be in the header.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


@cache
def settings_policy(report_only):
    """The policy (or the report-only one) that the settings alone make, as django-csp writes it."""
    return build_policy(report_only=report_only)


@receiver(setting_changed)
def _policy_settings_changed(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        settings_policy.cache_clear()


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
