"""export_posts: every published article back as a Jekyll post, which the import reads as the same article."""

import datetime as dt

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from articles import publishing
from articles.intake import reasons
from articles.models import Article, Category, StockReference, Tag
from tests.conftest import run_import
from tests.factories import make_article, make_category, make_editor, make_stock

pytestmark = pytest.mark.django_db


def facts():
    """What must survive a round trip, per info code."""
    articles = Article.objects.select_related("category", "responsible_editor").prefetch_related("tags", "stocks")
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
            article.source_name,
            article.author_names,
            article.responsible_editor,
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


def front_matter(path):
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


@pytest.fixture
def bylined(tmp_path):
    """Two articles with bylines, an editor's 来源 apart from the body, exported: (before, export folder)."""
    editor = make_editor("wangwu", last_name="王", first_name="五", email="wangwu@example.com")
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    make_article(info_code="ED1", published_at=moment, authors="张三、李四", responsible_editor=editor)
    make_article(info_code="ED2", published_at=moment, authors="张三", source_name="新华社", responsible_editor=editor)
    before = facts()
    export(tmp_path / "export")
    return before, tmp_path / "export"


def test_bylines_and_the_source_round_trip_to_the_user_of_that_name(bylined):
    before, folder = bylined
    several, one = (front_matter(next(folder.glob(f"*-{code}.md"))) for code in ("ED1", "ED2"))
    # Jekyll's keys for authors; the editor as readers see them named, never the account.
    assert several["authors"] == ["张三", "李四"] and "author" not in several
    assert one["author"] == "张三" and one["source_name"] == "新华社"
    assert one["responsible_editor"] == several["responsible_editor"] == "王五"

    start_afresh()
    succeeded, stdout, stderr = run_import(folder)

    assert succeeded and "warning" not in stderr, stderr
    assert facts() == before
    assert Article.objects.get(info_code="ED1").responsible_editor.username == "wangwu"


@pytest.mark.parametrize(("others", "matches"), [(0, "no user"), (2, "more than one user")])
def test_a_responsible_editor_not_found_once_is_named_in_a_warning_and_nothing_else_is_lost(bylined, others, matches):
    before, folder = bylined
    User.objects.all().delete()
    for number in range(others):
        User.objects.create_user(f"wang{number}", last_name="王", first_name="五")

    start_afresh()
    succeeded, stdout, stderr = run_import(folder)

    assert succeeded, stderr
    warning = f"responsible editor '王五' matches {matches}; left out"
    for code in ("ED1", "ED2"):
        assert f"warning {next(folder.glob(f'*-{code}.md'))}: {warning}" in stderr
    assert reasons.in_chinese(warning).startswith("没有名为“王五”的用户" if not others else "有不止一位用户名为“王五”")
    assert facts() == {code: (*kept[:-1], None) for code, kept in before.items()}


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
