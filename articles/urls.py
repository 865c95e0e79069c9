from django.urls import path, re_path

from . import feeds, views

app_name = "articles"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("news/<str:info_code>/", views.ArticleDetailView.as_view(), name="article-short"),
    path("news/<str:info_code>/<str:slug>/", views.ArticleDetailView.as_view(), name="article"),
    path("category/", views.CategoryIndexView.as_view(), name="category-index"),
    re_path(r"^category/(?P<name>[^/]+)\.html$", views.old_category_redirect, name="old-category"),
    path("category/<slug:slug>/", views.CategoryView.as_view(), name="category"),
    path("category/<slug:slug>/feed/", feeds.CategoryFeed(), name="category-feed"),
    path("tag/<slug:slug>/", views.TagView.as_view(), name="tag"),
    path("tag/<slug:slug>/feed/", feeds.TagFeed(), name="tag-feed"),
    path("stock/<str:market>/<str:code>/", views.StockView.as_view(), name="stock"),
    path("stock/<str:market>/<str:code>/feed/", feeds.StockFeed(), name="stock-feed"),
    path("archive/", views.ArchiveIndex.as_view(), name="archive"),
    path("archive/<int:year>/", views.YearArchive.as_view(), name="archive-year"),
    path("archive/<int:year>/<int:month>/", views.MonthArchive.as_view(), name="archive-month"),
    path("archive/<int:year>/<int:month>/<int:day>/", views.DayArchive.as_view(), name="archive-day"),
    path("search/", views.SearchView.as_view(), name="search"),
    # The old Jekyll site's feed URL, kept so existing subscribers keep working.
    path("feed.xml", feeds.LatestFeed(), name="feed"),
]

# The old site's URLs. The bare /<category>/ folder is matched last of all (see finews/urls.py),
# so it never shadows the site's own top-level paths.
old_site_urlpatterns = [
    re_path(
        r"^(?P<category>[^/]+)/(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?P<name>[^/]+)\.html$",
        views.old_post_redirect,
        name="old-post",
    ),
    re_path(r"^(?P<name>[^/]+)/$", views.old_category_redirect, name="old-category-folder"),
]
