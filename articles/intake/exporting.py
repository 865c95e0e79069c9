"""Writing articles back as Jekyll posts, in the format the import reads (a way to leave with one's content).

Each published article becomes ``YYYY-MM-DD-<info code>.md``: front matter with title, date
(+0800), categories, tags and the authors, then the summary as a ``> digest``, the body, and the
East Money source link as the trailer line the old site had. What the body no longer marks
(stocks, whose East Money attributes the sanitizer removed), a source link that is not East
Money's, the source's name and the 责任编辑 go into front matter keys that Jekyll ignores and the
import reads, so that importing an export gives the same articles.

The authors are written as Jekyll's plugins read them: ``author`` is the post's author, a name
(jekyll-seo-tag, docs/advanced-usage.md, https://github.com/jekyll/jekyll-seo-tag; jekyll-feed's
README, "Optional front matter", https://github.com/jekyll/jekyll-feed), and both fall back to the
first of ``authors`` when it is empty (jekyll-seo-tag's ``author_string_or_hash``, jekyll-feed's
feed.xml: ``post.author | default: post.authors[0]``). So one author
is ``author: 张三``, several ``authors: [张三, 李四]``.
"""

import re

import yaml
from django.utils import timezone

from articles.models import Article
from articles.roles import person_name

from .body import SOURCE_LINK_LINE

# Any ASCII punctuation may be escaped in Markdown; a summary is text, never markup.
_MARKDOWN_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def exported_articles(since=None, category=None):
    """Published articles to export, oldest first, with what a post file needs, in three queries."""
    articles = (
        Article.objects.published().select_related("category", "responsible_editor").prefetch_related("tags", "stocks")
    )
    if since:
        articles = articles.filter(published_at__gte=since)
    if category:
        articles = articles.filter(category=category)
    return articles.order_by("published_at", "id")


def file_name(article):
    return f"{timezone.localtime(article.published_at):%Y-%m-%d}-{article.info_code}.md"


def post_text(article):
    """The post file of ``article``."""
    front_matter = {
        "layout": "post",
        "title": article.title,
        "date": f"{timezone.localtime(article.published_at):%Y-%m-%d %H:%M:%S %z}",
        "categories": article.category.name,
        "tags": sorted(tag.name for tag in article.tags.all()),
        **_bylines(article),
    }
    east_money_source = bool(SOURCE_LINK_LINE.match(f"<{article.source_url}>"))
    if article.source_url and not east_money_source:
        front_matter["source_url"] = article.source_url
    if article.source_name:
        front_matter["source_name"] = article.source_name
    stocks = [{"market": stock.market, "code": stock.code, "name": stock.name} for stock in article.stocks.all()]
    if stocks:
        front_matter["stocks"] = stocks
    header = yaml.safe_dump(front_matter, allow_unicode=True, sort_keys=False, width=10_000)
    parts = [f"---\n{header}---\n"]
    if article.summary:
        parts.append("\n".join(f"> {_as_markdown_text(line)}" for line in article.summary.splitlines()))
        parts.append("")
    parts.append(article.body)
    if east_money_source:
        parts.append(f"\n<{article.source_url}>")
    return "\n".join(parts) + "\n"


def _bylines(article):
    """The front matter of the article's 作者 (Jekyll's keys) and 责任编辑 (the name readers see,
    roles.person_name, which the import matches back to the user; never an e-mail)."""
    names = article.author_names
    bylines = {"author": names[0]} if len(names) == 1 else {"authors": names} if names else {}
    if article.responsible_editor:
        bylines["responsible_editor"] = person_name(article.responsible_editor)
    return bylines


def _as_markdown_text(line):
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", line)


def export_posts(folder, since=None, category=None):
    """Write every exported article into ``folder``; return how many."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for article in exported_articles(since, category).iterator(chunk_size=500):
        (folder / file_name(article)).write_text(post_text(article), encoding="utf-8")
        count += 1
    return count
