"""export_posts: every published article back as a Jekyll post, which the import reads as the same article."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from articles import publishing
from articles.models import Article, Category, StockReference, Tag
from tests.conftest import run_import
from tests.factories import make_article, make_category, make_stock

pytestmark = pytest.mark.django_db


def facts():
    """What must survive a round trip, per info code."""
    articles = Article.objects.select_related("category").prefetch_related("tags", "stocks")
    return {
        article.info_code: (
            article.title,
            article.category.name,
            sorted(tag.name for tag in article.tags.all()),
            sorted((stock.market, stock.code, stock.name) for stock in article.stocks.all()),
            article.published_at,
            article.summary,
            article.source_url,
            article.status,
        )
        for article in articles
    }


def export(folder, *options):
    call_command("export_posts", str(folder), *options, stdout=open("/dev/null", "w"))  # noqa: SIM115


def start_afresh():
    Article.objects.all().delete()
    for model in (Category, Tag, StockReference):
        model.objects.all().delete()


def test_the_corpus_round_trips(corpus_dir, tmp_path):
    run_import(corpus_dir)
    before = facts()
    assert len(before) > 40 and any(stocks for _, _, _, stocks, *_ in before.values())

    export(tmp_path / "export")
    start_afresh()
    succeeded, stdout, stderr = run_import(tmp_path / "export")

    assert succeeded, stderr
    assert facts() == before
    names = sorted(path.name for path in (tmp_path / "export").iterdir())
    assert "2022-01-07-NW202201072239950893.md" in names and len(names) == len(before)


def test_what_the_body_cannot_carry_round_trips_too(tmp_path):
    stock = make_stock("BRK-B", market="nyse", name="伯克希尔")
    make_article(
        info_code="ED1",
        # A post's date is to the second, as Jekyll's is.
        published_at=timezone.now().replace(microsecond=0) - dt.timedelta(hours=1),
        title='标题: 带 "引号" 与 #号',
        summary="第一行 *不是* 强调 <b>\n第二行 [不是链接](x)",
        source_url="https://example.com/news/1?a=b",
        tags=["宏观", "A股 港股"],
        stocks=[stock],
        category=make_category("21shijijingjibaodao  nancailicaitong"),
    )
    before = facts()

    export(tmp_path / "export")
    start_afresh()
    succeeded, stdout, stderr = run_import(tmp_path / "export")

    assert succeeded, stderr
    assert facts() == before


def test_only_published_articles_within_the_filters(tmp_path):
    news, other = make_category("news"), make_category("other")
    make_article(info_code="OLD", category=news, published_at=make_article().published_at.replace(year=2020))
    make_article(info_code="NEW", category=news)
    make_article(info_code="DRAFT", category=news, status=Article.Status.DRAFT)
    make_article(info_code="ELSEWHERE", category=other)
    publishing.save_topic(news)

    export(tmp_path / "export", "--since", "2021-01-01", "--category", news.slug)

    assert [path.name.split("-", 3)[-1] for path in (tmp_path / "export").iterdir()] == ["NEW.md"]


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--since", "2022-02-30"], "--since must be a date"), (["--category", "nope"], "no category with the slug")],
)
def test_bad_options_are_clear_errors(tmp_path, options, message):
    with pytest.raises(CommandError, match=message):
        export(tmp_path / "export", *options)
    assert not (tmp_path / "export").exists()
