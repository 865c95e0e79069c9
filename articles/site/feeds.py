import logging

from django.contrib.syndication.views import Feed
from django.db.models import Case, TextField, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed

from articles.caching import keys
from articles.models import Article, Category, StockReference, Tag, with_public_articles
from articles.sanitize import CONTROL_CHARACTERS, text_excerpt, without_control_characters

from .views import tagged

FEED_SIZE = 20


logger = logging.getLogger("articles.site.feeds")


def _xml_text(value, where):
    """``value`` without the characters XML cannot carry (sanitize.CONTROL_CHARACTERS), which
    validation keeps out but a row written by SQL may hold: one would make the whole feed a 500."""
    if isinstance(value, (list, tuple)):
        return [_xml_text(item, where) for item in value]
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        logger.warning("control characters in %s left out of a feed: %r", where, value[:100])
        return without_control_characters(value)
    return value


class TextSummaryAtomFeed(Atom1Feed):
    """Atom whose summaries are text: Django marks every summary ``type="html"``, so a digest that
    reads ``&lt;img onerror=…&gt;`` would become live markup in a feed reader."""

    def __init__(self, **kwargs):  # Feed.get_feed() passes keywords only
        super().__init__(**{name: _xml_text(value, f"the feed's {name}") for name, value in kwargs.items()})

    def add_item(self, **kwargs):
        where = f"the item {kwargs.get('link')}"
        super().add_item(**{name: _xml_text(value, where) for name, value in kwargs.items()})

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


class LatestFeed(Feed):
    """Atom feed of the newest public articles, at the old site's /feed.xml."""

    feed_type = TextSummaryAtomFeed
    title = "金融消息"
    subtitle = "最新财经消息"
    link = "/"
    # Atom (RFC 4287) asks for an author of the feed unless every entry names one.
    author_name = "金融消息"

    def articles(self, obj):
        return Article.objects.listed().stories()

    def list_keys(self, obj):
        return [keys.SITE]

    def items(self, obj=None):
        # The body (which lists defer) in the same query, only for an entry that has no summary.
        body_if_no_summary = Case(When(summary="", then="body"), default=Value(""), output_field=TextField())
        items = list(self.articles(obj).annotate(body_if_no_summary=body_if_no_summary)[:FEED_SIZE])
        keys.depends_on(*self.list_keys(obj), *keys.listed(items))
        return items

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        # An empty <summary> leaves a feed reader with nothing to show: the page's description instead.
        return item.summary or text_excerpt(item.body_if_no_summary) or None

    def item_author_name(self, item):
        return "、".join(item.author_names) or item.source_name or None

    # Beijing time, as on the pages.
    def item_pubdate(self, item):
        return timezone.localtime(item.published_at)

    def item_updateddate(self, item):
        # When what it says changed, as its page's dateModified: not a save that changed no word
        # (an import, a tag, a pin), which made feed readers show old news as updated today.
        return timezone.localtime(item.content_modified_at)

    def item_categories(self, item):
        return [item.category.display_name]


class CategoryFeed(LatestFeed):
    def get_object(self, request, slug):
        return get_object_or_404(with_public_articles(Category.objects.all()), slug=slug)

    def title(self, obj):
        return f"金融消息 · {obj.display_name}"

    def link(self, obj):
        return obj.get_absolute_url()

    def articles(self, obj):
        return Article.objects.listed().filter(category=obj)

    def list_keys(self, obj):
        return [keys.category(obj.pk), keys.category_list(obj.pk)]


class TagFeed(LatestFeed):
    def get_object(self, request, slug):
        return get_object_or_404(with_public_articles(Tag.objects.all()), slug=slug)

    def title(self, obj):
        return f"金融消息 · 标签：{obj.name}"

    def link(self, obj):
        return obj.get_absolute_url()

    def articles(self, obj):
        return tagged(Article.objects.listed(), obj)

    def list_keys(self, obj):
        return [keys.tag(obj.pk), keys.tag_list(obj.pk)]


class StockFeed(LatestFeed):
    def get_object(self, request, market, code):
        return get_object_or_404(with_public_articles(StockReference.objects.all()), market=market, code=code)

    def title(self, obj):
        return f"金融消息 · {obj}"

    def link(self, obj):
        return obj.get_absolute_url()

    def articles(self, obj):
        return Article.objects.listed().under_stock(obj)

    def list_keys(self, obj):
        return [keys.stock(obj.pk), keys.stock_list(obj.pk)]
