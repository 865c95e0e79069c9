from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.utils import timezone
from django.utils.functional import cached_property

from articles.caching import keys
from articles.caching.middleware import mark_paginated
from articles.models import Article, Category, Tag, content_modified_at, remembered_reverse, with_public_articles

from .pagination import ArticlePaginator, CountedPaginator

ARTICLES_PER_SECTION = 2000
SECTION_TEMPLATE, INDEX_TEMPLATE = "sitemaps/sitemap.xml", "sitemaps/sitemap_index.xml"


class ArticleSitemap(Sitemap):
    changefreq = "never"
    priority = 0.8
    # Sections of this many articles, not the protocol's 50,000: one section is one request, and
    # a 50,000-URL document took 5.7 s to render.
    limit = ARTICLES_PER_SECTION

    @cached_property
    def paginator(self):
        # Oldest first, so a new article joins the last section and the others keep their URLs.
        # Counted, and each section's first row found, once per content version; a section is
        # then an index range from that row: the same cost for any section of a million articles.
        return ArticlePaginator(
            self._items(), self.limit, list_key="sitemap-articles", anchor_pages=1, oldest_first=True
        )

    def get_latest_lastmod(self):
        # Django's default reads every article for the index's <lastmod>; the index goes without.
        return None

    def items(self):
        # Rows, not instances: a section's 2,000 model instances were a third of its time.
        # Sections bound the date by their first row: "<= now" kept out of the index's range
        # (with it, SQLite walked the index from now down to a section's first row).
        return (
            Article.objects.published_bounded_elsewhere()
            .stories()
            .order_by("-published_at", "-id")
            .values("info_code", "slug", "published_at", "content_changed_at")
        )

    def location(self, row):
        # A story's own address (Article.get_absolute_url, for a lead: these are all leads).
        if not row["slug"]:
            return remembered_reverse("articles:article-short", info_code=row["info_code"])
        return remembered_reverse("articles:article", info_code=row["info_code"], slug=row["slug"])

    def lastmod(self, row):
        # When what the page says last changed (Article.content_modified_at, the page's
        # dateModified), not the row's last save: an import, a tag or a pin dated 2022's news today.
        # A date (Beijing's, as the pages show), which the template writes with isoformat: Django's
        # |date filter was a third of a section's time.
        return timezone.localdate(content_modified_at(row["published_at"], row["content_changed_at"]))


class TopicSitemap(Sitemap):
    """Categories' or tags' pages, counted once per content version: Django's paginator counted
    twice a request (the index's total, then its pages), each count a query over every topic and
    its links (the index's 4 queries; with them kept, none)."""

    @cached_property
    def paginator(self):
        return CountedPaginator(self._items(), self.limit, list_key=f"sitemap-{self.section}")


class CategorySitemap(TopicSitemap):
    section = "categories"
    changefreq = "hourly"
    priority = 0.5

    def items(self):
        return with_public_articles(Category.objects.only("slug")).order_by("name")


class TagSitemap(TopicSitemap):
    section = "tags"
    changefreq = "hourly"
    priority = 0.3

    def items(self):
        # Each tag checked by its own links (with_public_articles), never by a list of every public article.
        return with_public_articles(Tag.objects.only("slug")).order_by("name")


SITEMAPS = {"articles": ArticleSitemap, "categories": CategorySitemap, "tags": TagSitemap}


def sitemap(request):
    """One sitemap while it is small; past ArticleSitemap.limit URLs, a sitemap index of sections
    (sitemap-<section>.xml?p=<n>) of that many URLs each."""
    # An article leaving or joining before the last section moves every later one on, and the
    # index counts them all: every section holds SITE.
    keys.depends_on(keys.SITE)
    mark_paginated(request)  # its sections' pages: ?p=
    sections = {name: section() for name, section in SITEMAPS.items()}
    if sum(section.paginator.count for section in sections.values()) <= ArticleSitemap.limit:
        return sitemap_views.sitemap(request, sections, template_name=SECTION_TEMPLATE)
    return sitemap_views.index(request, sections, template_name=INDEX_TEMPLATE, sitemap_url_name="sitemap-section")


def sitemap_section(request, section):
    keys.depends_on(keys.SITE)
    mark_paginated(request)
    sections = {name: s() for name, s in SITEMAPS.items()}
    return sitemap_views.sitemap(request, sections, section=section, template_name=SECTION_TEMPLATE)
