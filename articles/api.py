"""The JSON API at /api/v1/ (django-ninja: typed schemas, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Reading is anonymous and shows only published() articles, newest first, with cursor pagination
that stays correct while new articles arrive. Writing is the scraper's ingest: a post file's bytes
sent with a bearer token go through the same importer as import_posts.
"""

import base64
import binascii
import datetime as dt
import json
import logging
from collections import Counter
from functools import wraps
from pathlib import PurePosixPath

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer

from .caching import current_version
from .forms import EARLIEST_DATE, LATEST_DATE
from .importing.frontmatter import PostError, parse_file_name
from .importing.importer import MAX_FILE_BYTES, POST_EXTENSIONS, FileReport, Outcome, PostImporter
from .importing.runs import PROBLEM_OUTCOMES, finish_run, start_run
from .links import has_url, linkable_articles
from .models import (
    Article,
    Category,
    ImportRun,
    IngestToken,
    Market,
    StockReference,
    Tag,
    TaggedArticle,
    with_public_articles,
)
from .sanitize import plain_text
from .search import MAX_RESULTS, SearchResults
from .search.text import MAX_QUERY_LENGTH
from .validators import MAX_INFO_CODE_LENGTH, STOCK_CODE_REGEX, is_url_code

logger = logging.getLogger("articles.api")
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


class LocalSwagger(Swagger):
    """ninja's Swagger UI page with its JavaScript from our static files, not a CDN.

    ninja picks the CDN unless it is an installed app, which it is not (see settings.NINJA_DIR).
    """

    def render_page(self, request, api, **kwargs):
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        # No operation is authenticated by a cookie (the ingest takes a bearer token): no CSRF token.
        context = {"swagger_settings": json.dumps(self.settings, indent=1), "api": api, "add_csrf": False}
        return render(request, self.template, context)


api = NinjaAPI(
    title="金融消息 API",
    version="1",
    description="Published financial news as JSON; the scraper's ingest of post files.",
    urls_namespace="api-v1",
    docs=LocalSwagger(),
)


# -- Schemas ------------------------------------------------------------------------------------


class Message(Schema):
    message: str


class CategoryRef(Schema):
    slug: str
    name: str


class TagRef(Schema):
    slug: str
    name: str


class StockRef(Schema):
    market: str
    code: str
    name: str


class ArticleItem(Schema):
    info_code: str
    title: str
    url: str
    published_at: dt.datetime
    updated_at: dt.datetime
    category: CategoryRef
    tags: list[TagRef]
    stocks: list[StockRef]
    summary: str
    source_name: str
    source_url: str


class ArticleDetail(ArticleItem):
    body_html: str
    body_text: str


class ArticlePage(Schema):
    items: list[ArticleItem]
    next: str | None = Field(description="The absolute URL of the next page, or null on the last.")


class CategoryCount(CategoryRef):
    article_count: int


class TagCount(TagRef):
    article_count: int


class StockCount(StockRef):
    article_count: int


class ArticleFilters(Schema):
    category: str | None = Field(None, max_length=200, pattern=SLUG_PATTERN, description="a category's slug")
    tag: str | None = Field(None, max_length=100, pattern=SLUG_PATTERN, description="a tag's slug")
    stock: str | None = Field(None, pattern=f"^{STOCK_CODE_REGEX}$", description="a stock code, e.g. 601601")
    market: Market | None = Field(None, description="the stock's market, when codes are ambiguous")
    q: str | None = Field(
        None,
        max_length=MAX_QUERY_LENGTH,
        pattern=NO_CONTROL_CHARACTERS,
        description="words, as the site's search takes them",
    )
    since: dt.datetime | None = Field(None, description="published at or after (ISO 8601; naive is Beijing time)")
    until: dt.datetime | None = Field(None, description="published before (ISO 8601; naive is Beijing time)")
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200, description="the `next` of the page before")


class IngestResult(Schema):
    outcome: str = Field(description="created, updated, unchanged, conflict or rejected")
    info_code: str
    url: str | None
    reason: str


# -- Errors: always {"message": ...} -------------------------------------------------------------


@api.exception_handler(ValidationError)
def invalid_parameters(request, error):
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'][1:]) or problem['loc'][0]}: {problem['msg']}"
        for problem in error.errors
    )
    return api.create_response(request, {"message": f"bad parameters: {problems}"}, status=400)


@api.exception_handler(HttpError)
def http_error(request, error):
    return api.create_response(request, {"message": str(error)}, status=error.status_code)


@api.exception_handler(Http404)
def not_found(request, error):
    return api.create_response(request, {"message": str(error) or "not found"}, status=404)


@api.exception_handler(AuthenticationError)
def unauthorized(request, error):
    return api.create_response(
        request, {"message": "a valid ingest token is required: Authorization: Bearer <token>"}, status=401
    )


# -- Reading -------------------------------------------------------------------------------------


def readable(view):
    """Headers of every read: an ETag of the content version (a conditional request is answered
    before anything is read), revalidation by shared caches and browsers, and CORS for any origin."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        etag = f'W/"{current_version()}"'
        response = get_conditional_response(request, etag=etag) or view(request, *args, **kwargs)
        if response.status_code in (200, 304):
            response.headers["ETag"] = etag
            response.headers["Cache-Control"] = "public, no-cache"
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag"
        return response

    return wrapper


def read(path, **options):
    """Register a read of ``path`` with ``readable``'s headers, for GET (in the OpenAPI document)
    and HEAD, which HTTP asks of every resource that answers GET (the server sends no body)."""

    def register(view):
        view = decorate_view(readable)(view)
        api.api_operation(["HEAD"], path, include_in_schema=False, **options)(view)
        return api.get(path, **options)(view)

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
        "source_url": article.source_url,
    }


def _beijing(moment, name):
    if moment is None:
        return None
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise HttpError(400, f"{name} must be between {EARLIEST_DATE} and {LATEST_DATE}")
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
        raise HttpError(400, "cursor: not a cursor this API gave") from None
    if timezone.is_naive(published_at):
        raise HttpError(400, "cursor: not a cursor this API gave")
    return Q(published_at__lt=published_at) | Q(published_at=published_at, pk__lt=pk)


def _stock(code, market):
    if not code:
        raise HttpError(400, "market: goes with stock")
    lookup = {"code": code.strip().upper(), **({"market": market} if market else {})}
    stocks = list(with_public_articles(StockReference.objects.filter(**lookup))[:2])
    if not stocks:
        raise Http404(f"no stock {code}")
    if len(stocks) > 1:
        raise HttpError(400, f"stock: {code} is in several markets; add market")
    return stocks[0]


def _topic(queryset, description, **lookup):
    topic = with_public_articles(queryset).filter(**lookup).first()
    if topic is None:
        raise Http404(f"no {description} {'/'.join(str(value) for value in lookup.values())}")
    return topic


@read(
    "/articles/",
    response={200: ArticlePage, 400: Message, 404: Message},
    summary="Published articles, newest first",
)
def list_articles(request, response: HttpResponse, filters: Query[ArticleFilters]):
    articles = Article.objects.listed().prefetch_related("tags", "stocks")
    lookup = {}
    if filters.tag:
        lookup["tagged_items__tag"] = _topic(Tag.objects.all(), "tag", slug=filters.tag)
    if filters.stock or filters.market:
        lookup["stocks"] = _stock(filters.stock, filters.market)
    # Each story once, as on the site; a category lists its own copy of a story, as its page does.
    if filters.category:
        category = _topic(Category.objects.all(), "category", slug=filters.category)
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
    if page:
        response.headers["Last-Modified"] = http_date(max(article.updated_at for article in page).timestamp())
    return {"items": [item_of(article, request) for article in linkable_articles(page)], "next": next_url}


@read(
    "/articles/{info_code}/",
    response={200: ArticleDetail, 301: None, 404: Message},
    summary="One published article, with its body",
)
def article_detail(request, response: HttpResponse, info_code: str):
    if not is_url_code(info_code, MAX_INFO_CODE_LENGTH):
        raise Http404(f"no published article {info_code!r}")  # and no query with what no code can hold
    article = (
        Article.objects.published()
        .select_related("category")
        .prefetch_related("tags", "stocks")
        .filter(info_code=info_code)
        .first()
    )
    if article is None or not has_url(article):
        raise Http404(f"no published article {info_code!r}")
    if article.story_id is not None:
        # The copy of a story (the same news in another category): the story is its lead.
        return HttpResponsePermanentRedirect(reverse("api-v1:article_detail", args=[article.story.info_code]))
    response.headers["Last-Modified"] = http_date(article.updated_at.timestamp())
    return {**item_of(article, request), "body_html": article.body, "body_text": plain_text(article.body, "lines")}


def _counted(topics, rows, column, describe):
    """``describe(topic) | {"article_count": n}`` for each of ``topics`` that ``rows`` (published
    articles or their links) point at through ``column``, n being how many point at it."""
    counts = dict(rows.order_by().values_list(column).annotate(Count("pk")))
    return [
        {**describe(topic), "article_count": counts[topic.pk]}
        for topic in topics.filter(pk__in=counts)
        if has_url(topic)
    ]


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


# -- Ingest --------------------------------------------------------------------------------------


class IngestTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        return IngestToken.objects.authenticated(token)


OUTCOME_STATUS = {
    Outcome.CREATED: 201,
    Outcome.UPDATED: 200,
    Outcome.UNCHANGED: 200,
    Outcome.CONFLICT: 409,
    Outcome.REJECTED: 422,
}


@api.post(
    "/posts/",
    auth=IngestTokenAuth(),
    response={
        201: IngestResult,
        200: IngestResult,
        409: IngestResult,
        422: IngestResult,
        400: Message,
        401: Message,
        413: Message,
        429: Message,
    },
    summary="Push one post file, exactly as the scraper writes it to _posts/",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def ingest_post(request, name: str = Query(..., max_length=200, description="the file name, e.g. 2022-01-07-NW1.md")):
    token = request.auth
    _throttle(token)
    path = _post_path(token, name)
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_FILE_BYTES:
        raise HttpError(413, f"a post may not be larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    raw = request.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise HttpError(413, f"a post may not be larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    run = start_run(ImportRun.Source.API, token.name)
    report = PostImporter().import_file(path, raw=raw)
    finish_run(run, Counter([report.outcome]), _problems(report))
    IngestToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    logger.info("ingest token=%s name=%s outcome=%s", token.name, name, report.outcome)
    return Status(OUTCOME_STATUS[report.outcome], _result(report, request))


def _problems(report):
    return [report] if report.outcome in PROBLEM_OUTCOMES else []


def _post_path(token, name):
    """The path a pushed post is known by (its file name under api/<token>/); 400 for a bad name."""
    if "/" in name or "\\" in name or name.startswith(".") or not name.lower().endswith(tuple(POST_EXTENSIONS)):
        raise HttpError(400, f"name: a post's file name, such as 2022-01-07-NW1.md, not {name!r}")
    path = PurePosixPath("api", token.name, name)
    try:
        parse_file_name(path)
    except PostError as error:
        raise HttpError(400, f"name: {error}") from None
    return path


def _throttle(token):
    key = f"finews:ingest:{token.pk}:{int(timezone.now().timestamp()) // 60}"
    cache.add(key, 0, timeout=120)
    if cache.incr(key) > settings.INGEST_REQUESTS_PER_MINUTE:
        raise HttpError(429, f"more than {settings.INGEST_REQUESTS_PER_MINUTE} posts a minute from {token.name}")


def _result(report: FileReport, request):
    info_code = parse_file_name(report.path).info_code
    article = Article.objects.filter(info_code=info_code).only("info_code", "slug").first()
    url = request.build_absolute_uri(article.get_absolute_url()) if article and has_url(article) else None
    return {"outcome": report.outcome.value, "info_code": info_code, "url": url, "reason": report.reason}
