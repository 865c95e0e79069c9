"""The API's interactive docs: ninja's Swagger UI page, served from our own static files."""

import json

from django.shortcuts import render
from ninja.openapi.docs import Swagger


class LocalSwagger(Swagger):
    """ninja's Swagger UI page with its JavaScript from our static files, not a CDN.

    ninja picks the CDN unless it is an installed app, which it is not (see settings.NINJA_DIR).
    """

    def render_page(self, request, api, **kwargs):
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        # No operation is authenticated by a cookie (the ingest takes a bearer token): no CSRF token.
        context = {"swagger_settings": json.dumps(self.settings, indent=1), "api": api, "add_csrf": False}
        return render(request, self.template, context)
