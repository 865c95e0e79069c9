"""Small factories for tests: real rows with sensible defaults."""

import datetime as dt
import itertools

from django.utils import timezone

from articles.models import Article, Category, Market, StockReference

_numbers = itertools.count(1)


def make_category(name=None, **fields):
    name = name or f"category{next(_numbers)}"
    return Category.objects.create(name=name, **fields)


def make_article(category=None, tags=(), stocks=(), **fields):
    number = next(_numbers)
    fields.setdefault("info_code", f"T{number:06d}")
    fields.setdefault("title", f"测试文章{number}")
    fields.setdefault("body", f"<p>正文{number}</p>")
    fields.setdefault("status", Article.Status.PUBLISHED)
    fields.setdefault("published_at", timezone.now() - dt.timedelta(hours=number))
    article = Article.objects.create(category=category or make_category(), **fields)
    if tags:
        article.tags.set(list(tags))
    if stocks:
        article.stocks.set(stocks)
    return article


def make_stock(code="601601", market=Market.SHANGHAI, name=""):
    return StockReference.objects.get_or_create(code=code, market=market, defaults={"name": name})[0]
