from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware

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
