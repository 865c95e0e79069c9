import hashlib
import html
import json

from django import template
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html
from django.utils.safestring import SafeString

from articles.caching import ProcessCopies
from articles.roles import person_name as _person_name
from articles.sanitize import body_as_shown, linkable, text_excerpt
from articles.site.times import note_relative, time_label

register = template.Library()

# Escapes that keep a JSON document inside <script> from closing the element (as json_script does).
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def excerpt(body):
    """The beginning of a body's text (sanitize.text_excerpt), entities decoded: escaped once, by the template."""
    return text_excerpt(body)


@register.filter
def shown_body(body):
    """An article's body as readers get it (sanitize.body_as_shown): cleaned again, whoever wrote it."""
    return body_as_shown(body)


register.filter("linkable", linkable)


@register.filter
def person_name(user):
    """A user as readers and editors see them named (roles.person_name): 张三, or the user name."""
    return _person_name(user)


@register.filter
def news_time(moment):
    """``moment`` (an aware datetime) as lists show it (times.time_label: 今天 15:02, 昨天 09:30,
    else 2026-11-14 09:30); a page showing a relative one names keys.TODAY, so no cache keeps
    it past midnight."""
    note_relative([moment])
    return time_label(moment)


@register.simple_tag
def sitemap_index_entries(sitemaps):
    """The sitemap index's <sitemap> elements (Django's SitemapIndexItem list), one a line.

    Written here, not by a template loop: the loop took about 20 µs a section, and a million
    articles make 500 sections (ARTICLES_PER_SECTION), so the index grew 1.56× from 10,000 articles.
    The standard library's escape, not Django's (the same text): its lazy-text wrapper was most of
    what each section cost.
    """
    return SafeString(
        "".join(
            f"<sitemap><loc>{html.escape(site.location)}</loc>"
            + (f"<lastmod>{format_date(site.last_mod, 'c')}</lastmod>" if site.last_mod else "")
            + "</sitemap>\n"
            for site in sitemaps
        )
    )


@register.simple_tag(takes_context=True)
def absolute_uri(context, location):
    """``location`` (a path, or a storage's absolute URL such as a bucket's) as an absolute URL of
    this request: ``/news/1/`` → ``https://finews.example.com/news/1/``; an absolute URL is kept."""
    return context["request"].build_absolute_uri(location)


@register.simple_tag(takes_context=True)
def news_article_json_ld(context, article):
    """schema.org NewsArticle for search engines, as an inert JSON data block."""
    request = context["request"]
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title[:110],
        "datePublished": timezone.localtime(article.published_at).isoformat(),
        "dateModified": timezone.localtime(article.content_modified_at).isoformat(),
        "mainEntityOfPage": request.build_absolute_uri(article.get_absolute_url()),
        "articleSection": str(article.category),
        "publisher": {"@type": "Organization", "name": "金融消息"},
    }
    if article.summary:
        data["description"] = article.summary[:300]
    if article.author_names:
        data["author"] = [{"@type": "Person", "name": name} for name in article.author_names]
    elif article.source_name:
        data["author"] = {"@type": "Organization", "name": article.source_name}
    if article.responsible_editor:
        data["editor"] = {"@type": "Person", "name": _person_name(article.responsible_editor)}
    if article.cover_image:
        data["image"] = [request.build_absolute_uri(article.cover_image.url)]
    document = json.dumps(data, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES)
    # The document is JSON with <, > and & escaped, so it cannot end the element or inject markup.
    return format_html('<script type="application/ld+json">{}</script>', SafeString(document))


ITEM_TEMPLATE = "includes/article_item.html"
ITEM_KEY = "finews:item:{digest}"
# Items are keyed by all they show, so a kept one is never out of date; this bounds memory.
ITEM_SECONDS = 24 * 3600
# How many items each process also keeps (about 0.6 KB each), by the most recently shown.
ITEMS_IN_PROCESS = 5000
_items_in_process = ProcessCopies()


@register.simple_tag
def article_items(articles, show_category=True, show_summary=True):
    """The list items of ``articles`` (includes/article_item.html), each rendered once and kept.

    Rendering an item (its links, its time, its summary cut to length) is most of what a list page
    costs; an item depends only on what its key holds: the article as last saved (a save moves
    ``updated_at``), its time as read today (今天 15:02: site/times.py), its category's address and
    name, and its story's address. Kept in this process for its ITEMS_IN_PROCESS most recently
    shown, else one round trip to the cache for the rest of the list.
    """
    articles = list(articles)
    today = timezone.localdate()
    labels = {article.pk: time_label(article.published_at, today) for article in articles}
    note_relative((article.published_at for article in articles), today)
    shown = {article.pk: _shown(article, labels[article.pk], show_category, show_summary) for article in articles}
    kept = _items_in_process.get_many(shown.values())
    items = {pk: kept[what] for pk, what in shown.items() if what in kept}
    if len(items) < len(shown):
        missing = [article for article in articles if article.pk not in items]
        items.update(_items_from_cache(missing, shown, labels, show_category, show_summary))
    return SafeString("".join(items[article.pk] for article in articles))


def _items_from_cache(articles, shown, labels, show_category, show_summary):
    """{pk: item} of ``articles``, read from the cache or rendered (and kept there and in the process)."""
    keys = {article.pk: ITEM_KEY.format(digest=_digest(shown[article.pk])) for article in articles}
    kept = cache.get_many(keys.values())
    rendered = {}
    for article in articles:
        if keys[article.pk] not in kept:
            context = {
                "article": article,
                "time_label": labels[article.pk],
                "show_category": show_category,
                "show_summary": show_summary,
            }
            kept[keys[article.pk]] = rendered[keys[article.pk]] = render_to_string(ITEM_TEMPLATE, context)
    if rendered:
        cache.set_many(rendered, ITEM_SECONDS)
    items = {article.pk: kept[keys[article.pk]] for article in articles}
    _items_in_process.keep({shown[pk]: item for pk, item in items.items()}, ITEMS_IN_PROCESS)
    return items


def _shown(article, label, show_category, show_summary):
    """All an item shows beside its article's own fields (named by ``updated_at``): its key. The
    cover's list rendition is named too: migration 0025 made it for stored covers, not saving them."""
    category, story = article.category, article.story
    return (
        article.pk,
        article.updated_at.isoformat(),
        article.cover_list_image.name,
        label,
        category.pk,
        category.slug,
        category.display_name,
        story and (story.info_code, story.slug),
        show_category,
        show_summary,
    )


def _digest(shown):
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:40]
