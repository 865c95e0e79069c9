from django.conf import settings
from django.contrib import admin
from django.core.files.storage import FileSystemStorage, default_storage
from django.urls import include, path

from articles.api import api
from articles.operations import metrics
from articles.operations.health import healthz
from articles.site import media, sitemaps, views
from articles.site.urls import old_site_urlpatterns

# The ModelAdmins, registered here rather than at start-up (finews.apps.AdminConfig).
admin.autodiscover()

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sitemap.xml", sitemaps.sitemap, name="sitemap"),
    path("sitemap-<section>.xml", sitemaps.sitemap_section, name="sitemap-section"),
    path("robots.txt", views.RobotsView.as_view(), name="robots"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/v1/", api.urls),
    path("", include("articles.site.urls")),
    # Last: the old Jekyll URLs, including the bare /<category>/ folders.
    path("", include((old_site_urlpatterns, "old-site"))),
]

handler404 = views.page_not_found

# Cover images kept on this host's disk are served here (covers on object storage have URLs of their own).
if isinstance(default_storage, FileSystemStorage) and not settings.MEDIA_URL.startswith(("http:", "https:", "//")):
    urlpatterns.insert(-2, path(f"{settings.MEDIA_URL.lstrip('/')}<path:path>", media.cover_image, name="media"))
