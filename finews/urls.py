from django.contrib import admin
from django.urls import include, path

from articles import sitemaps, views
from articles.health import healthz
from articles.urls import old_site_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sitemap.xml", sitemaps.sitemap, name="sitemap"),
    path("sitemap-<section>.xml", sitemaps.sitemap_section, name="sitemap-section"),
    path("robots.txt", views.RobotsView.as_view(), name="robots"),
    path("healthz", healthz, name="healthz"),
    path("", include("articles.urls")),
    # Last: the old Jekyll URLs, including the bare /<category>/ folders.
    path("", include((old_site_urlpatterns, "old-site"))),
]
