from django.urls import path, re_path, register_converter
from django.views.generic import RedirectView

from articles.validators import INFO_CODE_REGEX

from . import converters, feeds, views

register_converter(converters.InfoCodeConverter, "info_code")
register_converter(converters.MarketConverter, "market")
register_converter(converters.StockCodeConverter, "stock_code")
register_converter(converters.OldCategoryNameConverter, "old_category")

app_name = "articles"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("news/<info_code:info_code>/", views.ArticleDetailView.as_view(), name="article-short"),
    path("news/<info_code:info_code>/<str:slug>/", views.ArticleDetailView.as_view(), name="article"),
    path("news/<info_code:info_code>/qr.svg", views.article_qr_code, name="article-qr-code"),
    path("category/", views.CategoryIndexView.as_view(), name="category-index"),
    path("category/<old_category:name>.html", views.old_category_redirect, name="old-category"),
    path("category/<slug:slug>/", views.CategoryView.as_view(), name="category"),
    path("category/<slug:slug>/feed/", feeds.CategoryFeed(), name="category-feed"),
    path("tag/<slug:slug>/", views.TagView.as_view(), name="tag"),
    path("tag/<slug:slug>/feed/", feeds.TagFeed(), name="tag-feed"),
    path("stock/<market:market>/<stock_code:code>/", views.StockView.as_view(), name="stock"),
    path("stock/<market:market>/<stock_code:code>/feed/", feeds.StockFeed(), name="stock-feed"),
    path("archive/", views.ArchiveIndex.as_view(), name="archive"),
    path("archive/<int:year>/", views.YearArchive.as_view(), name="archive-year"),
    path("archive/<int:year>/<int:month>/", views.MonthArchive.as_view(), name="archive-month"),
    path("archive/<int:year>/<int:month>/<int:day>/", views.DayArchive.as_view(), name="archive-day"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("7x24/", views.LiveView.as_view(), name="live"),
    path("7x24/new/<int:after>/<int:seen>/", views.LiveFragmentView.as_view(), name="live-new"),
    # The address of pages opened before the fragment knew ``seen`` (it is ``after`` then).
    path("7x24/new/<int:after>/", views.LiveFragmentView.as_view(), name="live-new"),
    # The old site's home page by its file name (GitHub Pages answered both).
    path("index.html", RedirectView.as_view(pattern_name="articles:home", permanent=True)),
    # The old Jekyll site's feed URL, kept so existing subscribers keep working.
    path("feed.xml", feeds.LatestFeed(), name="feed"),
]

# The old site's URLs. The bare /<category>/ folder is matched last of all (see finews/urls.py),
# so it never shadows the site's own top-level paths.
old_site_urlpatterns = [
    # Jekyll splits a category line on spaces and joins the words as folders: "categories:
    # 21shijijingjibaodao  nancailicaitong" published under /21shijijingjibaodao/nancailicaitong/….
    # GitHub Pages served a post without its .html too, and such links went around.
    re_path(
        r"^(?P<category>[^/]+(?:/[^/]+)*)/(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?P<name>"
        + INFO_CODE_REGEX
        + r"?)(?:\.html)?$",  # the shortest name: the .html is not the code's
        views.old_post_redirect,
        name="old-post",
    ),
    path("<old_category:name>/", views.old_category_redirect, name="old-category-folder"),
]
