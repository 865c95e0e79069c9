"""Parsing one Jekyll post file into the fields of an article (no database access)."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, URLValidator

from articles.models import DEFAULT_CATEGORY_NAME, Article
from articles.search import ArticleText, article_text
from articles.slugs import article_slug
from articles.validators import EARLIEST_PUBLICATION, LATEST_PUBLICATION, is_publication_time

from .body import CleanBody, clean_body
from .frontmatter import (
    PostError,
    as_list,
    as_text,
    decode_post,
    parse_date,
    parse_file_name,
    parse_front_matter,
    split_front_matter,
)
from .labels import label_with_warnings
from .stocks import stock_from_front_matter

MAX_TITLE_LENGTH = 300
MAX_CATEGORY_LENGTH = 200
MAX_TAG_LENGTH = 100
MAX_AUTHORS_LENGTH = Article._meta.get_field("authors").max_length
MAX_SOURCE_NAME_LENGTH = Article._meta.get_field("source_name").max_length
# A user's 姓 and 名 (150 characters each in django.contrib.auth) as roles.person_name joins them.
MAX_PERSON_NAME_LENGTH = 300
# How Article.authors separates names (a Chinese list: 张三、李四).
AUTHOR_JOINER = "、"
_FALSE_VALUES = {"false", "no", "off", "0"}
# The old site's categories whose posts name no source (no "<source>新闻" tag): its own news, tagged
# 站长消息, whose English name the pages would otherwise show. Migration 0020 titles the stored one.
CATEGORY_TITLES = {"sitenews": "站长消息"}


@dataclass
class ParsedPost:
    info_code: str
    title: str
    published_at: object
    is_draft: bool
    category_name: str
    tag_names: list[str]
    body: CleanBody
    warnings: list[str] = field(default_factory=list)
    # 作者 as Article.authors stores them ("张三、李四"), and the 责任编辑's name as people see it
    # (roles.person_name), for the import to find among the users: both "" when the file gives none.
    authors: str = ""
    responsible_editor_name: str = ""
    # A new article's slug (slugs.article_slug), made with the parsing: with --workers, in a worker.
    slug: str = ""
    # The tokens the search index holds of its title and text (search.article_text), likewise.
    search_text: ArticleText | None = None

    @property
    def category_title(self):
        """A display title for a new category: the source's tag without its 新闻 suffix (财联社新闻 ->
        财联社), or for a category of the old site whose posts carry no such tag, its title from
        CATEGORY_TITLES; "" (the page shows the category's name) for any other."""
        for tag in self.tag_names:
            if tag.endswith("新闻") and len(tag) > 2:
                return tag.removesuffix("新闻")
        return CATEGORY_TITLES.get(self.category_name, "")


def parse_post(path, raw):
    """Return the ``ParsedPost`` of the file at ``path`` whose bytes are ``raw``; raise PostError."""
    file_name = parse_file_name(path)
    text, warnings = decode_post(raw)
    front_matter_text, body_text = split_front_matter(text)
    front_matter = parse_front_matter(front_matter_text)

    title = label_with_warnings(as_text(front_matter.get("title")), "title", MAX_TITLE_LENGTH, warnings)
    published_at = parse_date(front_matter.get("date"))
    problems = []
    if not title:
        problems.append("empty title")
    if published_at is None:
        if file_name.date is None:
            problems.append("no usable date in the front matter or the file name")
        else:
            published_at = file_name.date
            date_text = as_text(front_matter.get("date"))
            warnings.append(f"date {date_text!r} is missing or invalid; used the file name's date")
    if published_at is not None and not is_publication_time(published_at):
        problems.append(
            f"date {published_at.isoformat(sep=' ')} is outside {EARLIEST_PUBLICATION:%Y-%m-%d}"
            f"..{LATEST_PUBLICATION:%Y-%m-%d} (Beijing time), the publication times the site accepts"
        )
    if problems:
        raise PostError("; ".join(problems))

    categories = [
        name
        for name in (
            label_with_warnings(item, "category", MAX_CATEGORY_LENGTH, warnings, whitespace="keep")
            for item in as_list(front_matter.get("categories"), split_spaces=False)
        )
        if name
    ]
    tags = [
        label_with_warnings(item, "tag", MAX_TAG_LENGTH, warnings)
        for item in as_list(front_matter.get("tags"), split_spaces=True)
    ]
    body = clean_body(body_text, warnings)
    _add_front_matter_facts(body, front_matter, warnings)
    body.source_url = _usable_url(body.source_url, warnings)
    return ParsedPost(
        info_code=file_name.info_code,
        title=title,
        published_at=published_at,
        is_draft=as_text(front_matter.get("published")).lower() in _FALSE_VALUES,
        category_name=categories[0] if categories else DEFAULT_CATEGORY_NAME,
        # A list of categories: the first is the category, the others become tags.
        tag_names=_unique_case_insensitive(categories[1:] + tags),
        body=body,
        warnings=warnings,
        authors=_authors(front_matter, warnings),
        # As written: matched against the names users have (roles.users_named), spaces and all.
        responsible_editor_name=as_text(front_matter.get("responsible_editor"))[:MAX_PERSON_NAME_LENGTH],
        slug=article_slug(title),
        search_text=article_text(title, body.summary, body.html),
    )


def _add_front_matter_facts(body, front_matter, warnings):
    """What finews's own export writes in the front matter (Jekyll ignores it): the source link
    when it is not East Money's, the source's name (来源, which an editor may have set apart from
    the body's credit line), and the stocks the body no longer marks (export_posts)."""
    source_url = as_text(front_matter.get("source_url"))
    if source_url:
        body.source_url = source_url
    source_name = label_with_warnings(
        as_text(front_matter.get("source_name")), "source name", MAX_SOURCE_NAME_LENGTH, warnings
    )
    if source_name:
        body.source_name = source_name
    stocks = front_matter.get("stocks")
    known = {(stock.market, stock.code) for stock in body.stocks}
    for item in stocks if isinstance(stocks, list) else []:
        mention = stock_from_front_matter(item, warnings)
        if mention is None:
            warnings.append(
                f"stock {as_text(item)[:60]!r} in the front matter is not a known market and code; left out"
            )
        elif (mention.market, mention.code) not in known:
            known.add((mention.market, mention.code))
            body.stocks.append(mention)


_SOURCE_URL_VALIDATORS = (
    URLValidator(schemes=["http", "https"]),
    MaxLengthValidator(Article._meta.get_field("source_url").max_length),
)


def _usable_url(url, warnings):
    """``url`` if it is a valid http(s) URL that fits; otherwise nothing, with a warning (the post is still taken)."""
    if url:
        try:
            for validate in _SOURCE_URL_VALIDATORS:
                validate(url)
        except ValidationError:
            warnings.append(f"source link {url[:100]!r} is not a valid URL; left out")
            return ""
    return url


def _authors(front_matter, warnings):
    """The authors a post names, joined as Article.authors stores them.

    Jekyll's plugins read ``author`` (a name, or a mapping with a ``name``) and, when it is empty,
    the first of ``authors`` (a list): jekyll-seo-tag's ``author_string_or_hash`` and jekyll-feed's
    ``post.author | default: post.authors[0]``. Both keys are read here, each a string or a list,
    ``authors`` first as it holds them all. Names that do not fit the field are left out, with a warning.
    """
    given = front_matter.get("authors") or front_matter.get("author")
    items = given if isinstance(given, list) else [given]
    names = [label_with_warnings(_person(item), "author", MAX_AUTHORS_LENGTH, warnings) for item in items]
    kept = []
    for name in filter(None, dict.fromkeys(names)):
        if len(AUTHOR_JOINER.join([*kept, name])) > MAX_AUTHORS_LENGTH:
            warnings.append(
                f"author {name[:60]!r} does not fit in {MAX_AUTHORS_LENGTH} characters of authors; left out"
            )
        else:
            kept.append(name)
    return AUTHOR_JOINER.join(kept)


def _person(item):
    """A name from ``author: 张三`` or jekyll-seo-tag's ``author: {name: 张三, …}``."""
    return as_text(item.get("name")) if isinstance(item, dict) else as_text(item)


def _unique_case_insensitive(names):
    seen, unique = set(), []
    for name in names:
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            unique.append(name)
    return unique
