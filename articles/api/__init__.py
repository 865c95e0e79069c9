"""The JSON API at /api/v1/ (django-ninja: typed schemas, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Reading (reading.py) is anonymous and shows only what readers can see; writing is the scraper's
ingest (ingest.py). Every error answers ``{"message": ..., "detail": ...}`` (errors.py: the
English message as before, and the same in Chinese): ninja's below, and whatever Django answers
under /api/ (an unknown path, a method not allowed, a server error) through
errors.JsonErrorsMiddleware. Every JSON answer is UTF-8 as written (Chinese, not \\uXXXX) and says
``Content-Type: application/json; charset=utf-8``.
"""

import functools
import json

from django.conf import settings
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.renderers import JSONRenderer

from . import errors, ingest, reading
from .docs import LocalSwagger


class Utf8JSONRenderer(JSONRenderer):
    """Chinese as UTF-8, as the README shows it: json.dumps escapes it as \\uXXXX by default."""

    json_dumps_params = {"ensure_ascii": False}


def _openapi_document_in_utf8(view):
    """ninja answers openapi.json with its own JsonResponse (escaped, no charset): render it as
    every other answer. The docs page (HTML) goes through unchanged."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if not response.get("Content-Type", "").startswith("application/json"):
            return response
        return api.create_response(request, json.loads(response.content), status=response.status_code)

    return wrapper


api = NinjaAPI(
    title="金融消息 API",
    version="1",
    description="Published financial news as JSON; the scraper's ingest of post files.",
    urls_namespace="api-v1",
    docs=LocalSwagger(),
    docs_decorator=_openapi_document_in_utf8,
    renderer=Utf8JSONRenderer(),
)
api.add_router("", reading.router)
api.add_router("", ingest.router)


def _error(request, status, message, detail):
    return api.create_response(request, errors.body(message, detail), status=status)


@api.exception_handler(ValidationError)
def invalid_parameters(request, error):
    problems = "; ".join(f"{errors.parameter_name(problem)}: {problem['msg']}" for problem in error.errors)
    detail = "参数有误：" + "；".join(errors.problem_in_chinese(problem) for problem in error.errors)
    return _error(request, 400, f"bad parameters: {problems}", detail)


@api.exception_handler(HttpError)
def http_error(request, error):
    detail = getattr(error, "detail", None) or errors.in_chinese(error.status_code)
    return _error(request, error.status_code, str(error), detail)


@api.exception_handler(Http404)
def not_found(request, error):
    return _error(request, 404, str(error) or "not found", errors.in_chinese(404))


@api.exception_handler(AuthenticationError)
def unauthorized(request, error):
    return _error(
        request,
        401,
        "a valid ingest token is required: Authorization: Bearer <token>",
        "需要有效的推送令牌：Authorization: Bearer <令牌>",
    )


@api.exception_handler(Throttled)
def throttled(request, error):
    token = getattr(request.auth, "name", None)
    limit = settings.INGEST_REQUESTS_PER_MINUTE
    return _error(
        request,
        429,
        f"more than {limit} posts a minute from {token or 'this token'}",
        f"{f'令牌“{token}”' if token else '这个令牌'}每分钟推送超过 {limit} 篇：请按 Retry-After 的秒数稍后再推送",
    )
