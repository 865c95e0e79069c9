"""Small factories for tests: real rows with sensible defaults."""

import datetime as dt
import itertools

from django.contrib.auth.models import Group, User
from django.utils import timezone

from articles import publishing
from articles.models import Article, Category, Market, StockReference
from articles.roles import EDITOR_GROUP_NAME

_numbers = itertools.count(1)


def make_category(name=None, **fields):
    name = name or f"category{next(_numbers)}"
    return publishing.save_topic(Category(name=name, **fields))


def make_article(category=None, tags=(), stocks=(), **fields):
    """An article written as the import writes one (through publishing, not marked as edited)."""
    number = next(_numbers)
    fields.setdefault("info_code", f"T{number:06d}")
    fields.setdefault("title", f"测试文章{number}")
    fields.setdefault("body", f"<p>正文{number}</p>")
    fields.setdefault("status", Article.Status.PUBLISHED)
    fields.setdefault("published_at", timezone.now() - dt.timedelta(hours=number))
    article = Article(category=category or make_category(), **fields)
    return publishing.save_article(article, tags=list(tags), stocks=list(stocks), edited=False)


def make_stock(code="601601", market=Market.SHANGHAI, name=""):
    stock = StockReference.objects.filter(code=code, market=market).first()
    return stock or publishing.save_topic(StockReference(code=code, market=market, name=name))


def make_editor(username="editor", publisher=True, **names):
    """A staff user of the 编辑 group; without ``publisher``, one who may edit but not publish.
    ``names``: first_name, last_name."""
    user = User.objects.create_user(username, password="x", is_staff=True, **names)
    group = Group.objects.get(name=EDITOR_GROUP_NAME)
    if publisher:
        user.groups.add(group)
    else:
        user.user_permissions.set(group.permissions.exclude(codename="publish_article"))
    return user


def article_form(category, **overrides):
    """The POST data of the admin's article form, as a browser would send it."""
    published_at = overrides.pop("published_at", timezone.localtime() - dt.timedelta(minutes=5))
    data = {
        "title": "央行宣布降准",
        "info_code": "ED1",
        "slug": "",
        "category": category.pk,
        "tags": "宏观，A股、港股",
        "status": Article.Status.DRAFT,
        "published_at_0": published_at.strftime("%Y-%m-%d"),
        "published_at_1": published_at.strftime("%H:%M:%S"),
        "summary": "",
        "body": "<p>正文</p>",
        "source_name": "财联社",
        "source_url": "",
        "pin": "",
        "pin_order": "0",
        "pinned_until_0": "",
        "pinned_until_1": "",
        "_save": "保存",
    }
    data.update(overrides)
    return data
