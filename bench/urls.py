from django.http import HttpResponse
from django.urls import include, path

from bench import rules


def constant(request):
    """The baseline: the smallest Django response, through the same middleware and server."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/constant/", constant),
    path("", include("finews.urls")),
]

rules.apply_to_views()
