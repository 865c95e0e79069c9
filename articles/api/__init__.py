"""The JSON API at /api/v1/ (django-ninja: typed schemas, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Reading (reading.py) is anonymous and shows only what readers can see; writing is the scraper's
ingest (ingest.py). Every error answers ``{"message": ...}``: ninja's below, and whatever Django
answers under /api/ (an unknown path, a method not allowed, a server error) through
errors.JsonErrorsMiddleware.
"""

from django.conf import settings
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from . import ingest, reading
from .docs import LocalSwagger

api = NinjaAPI(
    title="金融消息 API",
    version="1",
    description="Published financial news as JSON; the scraper's ingest of post files.",
    urls_namespace="api-v1",
    docs=LocalSwagger(),
)
api.add_router("", reading.router)
api.add_router("", ingest.router)


@api.exception_handler(ValidationError)
def invalid_parameters(request, error):
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'][1:]) or problem['loc'][0]}: {problem['msg']}"
        for problem in error.errors
    )
    return api.create_response(request, {"message": f"bad parameters: {problems}"}, status=400)


@api.exception_handler(HttpError)
def http_error(request, error):
    return api.create_response(request, {"message": str(error)}, status=error.status_code)


@api.exception_handler(Http404)
def not_found(request, error):
    return api.create_response(request, {"message": str(error) or "not found"}, status=404)


@api.exception_handler(AuthenticationError)
def unauthorized(request, error):
    return api.create_response(
        request, {"message": "a valid ingest token is required: Authorization: Bearer <token>"}, status=401
    )


@api.exception_handler(Throttled)
def throttled(request, error):
    token = getattr(request.auth, "name", "this token")
    message = f"more than {settings.INGEST_REQUESTS_PER_MINUTE} posts a minute from {token}"
    return api.create_response(request, {"message": message}, status=429)
