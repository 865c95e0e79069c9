from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.db.models import Exists, OuterRef

from articles.caching import keys
from articles.caching.middleware import mark_paginated
from articles.models import Article, Category, Tag, TaggedArticle


class ArticleSitemap(Sitemap):
    changefreq = "never"
    priority = 0.8

    def items(self):
        return (
            Article.objects.published()
            .stories()
            .only("info_code", "slug", "updated_at", "story")
            .order_by("-published_at", "-id")
        )

    def lastmod(self, article):
        return article.updated_at


class CategorySitemap(Sitemap):
    changefreq = "hourly"
    priority = 0.5

    def items(self):
        return (
            Category.objects.filter(Exists(Article.objects.published().filter(category=OuterRef("pk"))))
            .only("slug")
            .order_by("name")
        )


class TagSitemap(Sitemap):
    changefreq = "hourly"
    priority = 0.3

    def items(self):
        public_tagged = TaggedArticle.objects.filter(
            tag=OuterRef("pk"), content_object__in=Article.objects.published().values("id")
        )
        return Tag.objects.filter(Exists(public_tagged)).only("slug").order_by("name")


SITEMAPS = {"articles": ArticleSitemap, "categories": CategorySitemap, "tags": TagSitemap}


def sitemap(request):
    """One sitemap while it is small; a sitemap index of paginated sections once it passes 50,000 URLs."""
    # Newest first: every new article moves every section on, so all of them hold SITE.
    keys.depends_on(keys.SITE)
    mark_paginated(request)  # its sections' pages: ?p=
    sections = {name: section() for name, section in SITEMAPS.items()}
    if sum(section.paginator.count for section in sections.values()) <= Sitemap.limit:
        return sitemap_views.sitemap(request, sections)
    return sitemap_views.index(request, sections, sitemap_url_name="sitemap-section")


def sitemap_section(request, section):
    keys.depends_on(keys.SITE)
    mark_paginated(request)
    return sitemap_views.sitemap(request, {name: s() for name, s in SITEMAPS.items()}, section=section)
