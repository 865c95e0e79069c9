from blog.feeds import WeblogEntryFeed
from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("weblog/", include("blog.urls")),
    path("rss/weblog/", WeblogEntryFeed(), name="weblog-feed"),
    # Named by the copied templates (djangoproject.com's other pages).
    path("", lambda request: HttpResponse("home"), name="homepage"),
]
