"""What the API reads and answers, as typed schemas (the OpenAPI document is made from them)."""

import datetime as dt

from ninja import Field, Schema

from articles.models import Market
from articles.search.text import MAX_QUERY_LENGTH
from articles.validators import STOCK_CODE_REGEX

SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


class Message(Schema):
    message: str = Field(description="what went wrong, in English, as the API has always said it")
    detail: str = Field(description="the same, in Chinese, for the person who reads it")


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
    authors: list[str] = Field(description="作者, as the article page names them; empty for most imported news")
    responsible_editor: str | None = Field(
        description="责任编辑 as the article page names them: 姓名, or the user name of an account without one"
    )


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
    detail: str = Field(description="the reason in Chinese (导入记录's words); empty when there is none")
    warnings: list[str] = Field(
        description="what the import changed in the file or left out of it (of a file not written: what it "
        "would have); the admin's 导入记录 has those of a file written, in Chinese. Empty when nothing"
    )
