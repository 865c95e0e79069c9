"""Errors under /api/ answer JSON whoever raised them (ninja's own handlers cover only its views)."""

import json

from django.http import HttpResponse

API_PREFIX = "/api/"


class JsonErrorsMiddleware:
    """Turns a non-JSON error under /api/ (Django's 404 for an unknown path, ninja's plain 405, the
    HTML 500 of an unexpected exception, a CSRF 403) into ``{"message": "<reason>"}`` with the same
    status and headers such as ``Allow`` and ``Retry-After``. The exception itself is logged by
    Django as before (logger ``django.request``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        answer = HttpResponse(
            json.dumps({"message": response.reason_phrase.lower()}),
            status=response.status_code,
            content_type="application/json",
        )
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                answer[header] = response[header]
        return answer
