"""Reading: anonymous, only published() articles, newest first, with cursor pagination that stays
correct while new articles arrive."""

import base64
import binascii
import datetime as dt
from functools import wraps

from django.db.models import Count, Q
from django.http import HttpResponsePermanentRedirect
from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router
from ninja.decorators import decorate_view

from articles.caching import conditional
from articles.models import Article, Category, StockReference, Tag, TaggedArticle, with_public_articles
from articles.roles import person_name
from articles.sanitize import body_as_shown, linkable, plain_text
from articles.search import MAX_RESULTS, SearchResults
from articles.site.forms import EARLIEST_DATE, LATEST_DATE
from articles.validators import MAX_INFO_CODE_LENGTH, is_url_code

from .errors import ApiError
from .schemas import ArticleDetail, ArticleFilters, ArticlePage, CategoryCount, Message, StockCount, TagCount

router = Router()


def public_read(view):
    """Every read: answers conditional requests by the content version, as pages do
    (caching.conditional), is revalidated by shared caches and browsers, and is open to any origin."""
    view = conditional(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = "public, no-cache"
        else:
            for header in ("ETag", "Last-Modified"):
                response.headers.pop(header, None)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified"
        return response

    return wrapper


def read(path, **options):
    """Register a read of ``path`` with ``public_read``'s headers, for GET (in the OpenAPI document)
    and HEAD, which HTTP asks of every resource that answers GET (the server sends no body)."""

    def register(view):
        view = decorate_view(public_read)(view)
        router.api_operation(["HEAD"], path, include_in_schema=False, **options)(view)
        return router.get(path, **options)(view)

    return register


def item_of(article, request):
    category = article.category
    return {
        "info_code": article.info_code,
        "title": article.title,
        "url": request.build_absolute_uri(article.get_absolute_url()),
        "published_at": timezone.localtime(article.published_at),
        "updated_at": timezone.localtime(article.updated_at),
        "category": {"slug": category.slug, "name": category.display_name},
        "tags": [{"slug": tag.slug, "name": tag.name} for tag in article.tags.all()],
        "stocks": [{"market": s.market, "code": s.code, "name": s.name} for s in article.stocks.all()],
        "summary": article.summary,
        "source_name": article.source_name,
        "source_url": linkable(article.source_url),
        "authors": article.author_names,
        "responsible_editor": person_name(article.responsible_editor) if article.responsible_editor else None,
    }


def _beijing(moment, name):
    if moment is None:
        return None
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise ApiError(
            400,
            f"{name} must be between {EARLIEST_DATE} and {LATEST_DATE}",
            f"{name} 须在 {EARLIEST_DATE} 到 {LATEST_DATE} 之间",
        )
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _cursor_of(article):
    text = f"{article.published_at.isoformat()}|{article.pk}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _after_cursor(cursor):
    """The condition "after the article the cursor names, newest first"; 400 for a cursor we did not write."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        published_at, pk = text.split("|")
        published_at, pk = dt.datetime.fromisoformat(published_at), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _not_our_cursor() from None
    if timezone.is_naive(published_at):
        raise _not_our_cursor()
    return Q(published_at__lt=published_at) | Q(published_at=published_at, pk__lt=pk)


def _not_our_cursor():
    return ApiError(400, "cursor: not a cursor this API gave", "cursor 不是本 API 给出的游标，请用上一页的 next")


def _stock(code, market):
    if not code:
        raise ApiError(400, "market: goes with stock", "market 须与 stock 一起使用")
    lookup = {"code": code.strip().upper(), **({"market": market} if market else {})}
    stocks = list(with_public_articles(StockReference.objects.filter(**lookup))[:2])
    if not stocks:
        raise ApiError(404, f"no stock {code}", f"没有股票 {code}（或没有提到它的已发布文章）")
    if len(stocks) > 1:
        raise ApiError(
            400, f"stock: {code} is in several markets; add market", f"stock {code} 在几个市场都有，请加上 market"
        )
    return stocks[0]


def _topic(queryset, description, chinese, **lookup):
    topic = with_public_articles(queryset).filter(**lookup).first()
    if topic is None:
        named = "/".join(str(value) for value in lookup.values())
        raise ApiError(404, f"no {description} {named}", f"没有{chinese} {named}（或它没有已发布的文章）")
    return topic


@read(
    "/articles/",
    response={200: ArticlePage, 400: Message, 404: Message},
    summary="Published articles, newest first",
)
def list_articles(request, filters: Query[ArticleFilters]):
    articles = Article.objects.listed().select_related("responsible_editor").prefetch_related("tags", "stocks")
    lookup = {}
    if filters.tag:
        lookup["tagged_items__tag"] = _topic(Tag.objects.all(), "tag", "标签", slug=filters.tag)
    if filters.stock or filters.market:
        lookup["stocks"] = _stock(filters.stock, filters.market)
    # Each story once, as on the site; a category lists its own copy of a story, as its page does.
    if filters.category:
        category = _topic(Category.objects.all(), "category", "分类", slug=filters.category)
        articles = articles.filter(category=category, **lookup)
    elif lookup:
        articles = articles.once_per_story(**lookup)
    else:
        articles = articles.stories()
    since, until = _beijing(filters.since, "since"), _beijing(filters.until, "until")
    if since:
        articles = articles.filter(published_at__gte=since)
    if until:
        articles = articles.filter(published_at__lt=until)
    if filters.q:
        # The newest MAX_RESULTS matches, as the site's search pages through.
        results = SearchResults(filters.q, articles.order_by(), published_after=since, published_before=until)
        articles = articles.filter(pk__in=results.newest_ids(MAX_RESULTS) if results.terms else [])
    if filters.cursor:
        articles = articles.filter(_after_cursor(filters.cursor))
    rows = list(articles.order_by("-published_at", "-id")[: filters.limit + 1])
    page, more = rows[: filters.limit], len(rows) > filters.limit
    next_url = None
    if more:
        parameters = request.GET.copy()
        parameters["cursor"] = _cursor_of(page[-1])
        next_url = request.build_absolute_uri(f"{request.path}?{parameters.urlencode()}")
    return {"items": [item_of(article, request) for article in page], "next": next_url}


@read(
    "/articles/{info_code}/",
    response={200: ArticleDetail, 301: None, 404: Message},
    summary="One published article, with its body",
)
def article_detail(request, info_code: str):
    if not is_url_code(info_code, MAX_INFO_CODE_LENGTH):
        raise _no_article(info_code)  # and no query with what no code can hold
    article = (
        Article.objects.published()
        .select_related("category", "responsible_editor")
        .prefetch_related("tags", "stocks")
        .filter(info_code=info_code)
        .first()
    )
    if article is None:
        raise _no_article(info_code)
    if article.lead is not None:
        # The copy of a story (the same news in another category): the story is its lead.
        return HttpResponsePermanentRedirect(reverse("api-v1:article_detail", args=[article.lead.info_code]))
    return {
        **item_of(article, request),
        "body_html": body_as_shown(article.body),
        "body_text": plain_text(article.body, "lines"),
    }


def _no_article(info_code):
    return ApiError(404, f"no published article {info_code!r}", f"没有已发布的文章“{info_code}”")


def _counted(topics, rows, column, describe):
    """``describe(topic) | {"article_count": n}`` for each of ``topics`` that ``rows`` (published
    articles or their links) point at through ``column``, n being how many point at it."""
    counts = dict(rows.order_by().values_list(column).annotate(Count("pk")))
    return [{**describe(topic), "article_count": counts[topic.pk]} for topic in topics.filter(pk__in=counts)]


@read("/categories/", response=list[CategoryCount], summary="Categories with published articles, and how many")
def list_categories(request):
    return _counted(
        Category.objects.all(),
        Article.objects.published(),
        "category",
        lambda category: {"slug": category.slug, "name": category.display_name},
    )


@read("/tags/", response=list[TagCount], summary="Tags of published articles, and how many")
def list_tags(request):
    return _counted(
        Tag.objects.all(),
        TaggedArticle.objects.filter(content_object__in=Article.objects.published()),
        "tag",
        lambda tag: {"slug": tag.slug, "name": tag.name},
    )


@read("/stocks/", response=list[StockCount], summary="Stocks and boards mentioned by published articles, and how often")
def list_stocks(request):
    return _counted(
        StockReference.objects.all(),
        Article.stocks.through.objects.filter(article__in=Article.objects.published()),
        "stockreference",
        lambda stock: {"market": stock.market, "code": stock.code, "name": stock.name},
    )
