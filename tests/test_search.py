import datetime as dt
import re
import unicodedata

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import articles.search
from articles import publishing
from articles.models import Article
from articles.sanitize import plain_text
from articles.search import SearchResults, rebuild_index
from articles.search.backends import search_key
from articles.search.text import highlight, index_text, phrase, query_terms, split_into_words
from articles.site.times import time_label
from tests.conftest import post_text, run_import
from tests.factories import make_article, make_category, make_stock

pytestmark = pytest.mark.django_db

# Query -> the info codes of every corpus article it must find (and no others).
CORPUS_QUERIES = {
    "太保": {"NW202201072239950893"},
    "降准": {"NW202205292395438077"},
    "新能源": {"202205262391921712", "202205302396671291"},
    "人民币": {
        "202112082206672930",
        "202112082206748961",
        "202112082206749391",
        "202112082206778173",
        "202205302396671645",
        "NW202205302396671645",
    },
    "601601": {"NW202201072239950893"},
    "02601": {"NW202201072239950893"},
    "NIO": {"202205262391921712"},
    "BK0493": {"202205262391921712", "202205302396671291"},
    "蔚来": {"202205262391921712"},
    "北向资金": {"202112082206742097", "202112082206757673", "202112082206761079", "202112082206777086"},
    "雪球": {"202201072239307540", "NW202201072239307540"},
    "特斯拉": {"202112082206718253"},
    "美联储": {"202112082206960440"},
    "债务上限": {"202112082206735022", "202112082206736198"},
    "瑞德西韦": {"202112082206753163"},
    "霍尼韦尔": {"202205262391921712"},
    "港交所": {"202112082206736819"},
    "00700": {"202205302396671645"},
    "腾讯控股": {"202205302396671645", "NW202205302396671645"},
    "消费电子": {"202205312398034850", "NW202205312398034850"},
    "锂电": {"202112082206769714", "202112082206945215"},
    "国内首款 制冷剂": {"202205262391921712"},
    "ＮＩＯ": {"202205262391921712"},
    "FF": {"202112082206703990", "202112082206717618"},
}


def indexed_words_of(article):
    """The article's title, summary, body text and stock names, folded as the index folds them."""
    stocks = " ".join(f"{stock.code} {stock.name}" for stock in article.stocks.all())
    text = f"{article.title} | {article.summary} | {plain_text(article.body)} | {stocks}"
    return unicodedata.normalize("NFKC", text).lower()


def found(query, candidates=None):
    results = SearchResults(query, candidates if candidates is not None else Article.objects.published())
    return [article.info_code for article in results[0:100]]


def topic_links(client, query):
    """(text, address) of the tag and stock links above the results of ``query``."""
    from bs4 import BeautifulSoup

    page = BeautifulSoup(client.get("/search/", {"q": query}).content.decode(), "lxml")
    return [(link.get_text(), link["href"]) for link in page.select(".search-topics a")]


@pytest.fixture
def indexed_corpus(imported_corpus):
    rebuild_index()
    return imported_corpus


class TestQualityOnTheCorpus:
    @pytest.mark.parametrize(("query", "expected"), CORPUS_QUERIES.items())
    def test_query_finds_exactly_the_articles_that_mention_it(self, indexed_corpus, query, expected):
        assert set(found(query)) == expected

    def test_every_word_of_the_titles_finds_exactly_the_articles_containing_it(self, indexed_corpus):
        """Checked against plain substring search of what is indexed, for several hundred words."""
        articles = Article.objects.published().prefetch_related("stocks")
        texts = {article.info_code: indexed_words_of(article) for article in articles}
        words = set()
        for article in articles:
            for run in re.findall(r"[\u4e00-\u9fff]+", article.title):
                words.update(run[start : start + length] for length in (1, 2, 3, 4) for start in range(len(run)))
        # Every seventh, in a fixed order: a few hundred words of one to four characters.
        sample = sorted(word for word in words if word)[::7]
        assert len(sample) > 200
        wrong = {}
        for word in sample:
            expected = {code for code, text in texts.items() if word in text}
            if set(found(word)) != expected:
                wrong[word] = (sorted(found(word)), sorted(expected))
        assert wrong == {}

    def test_words_of_letters_or_digits_and_characters_find_exactly_the_articles_containing_them(self, indexed_corpus):
        """A股, 5月, 2022年: letters and digits match whole (A股 is not in "NA股"), characters anywhere."""
        articles = Article.objects.published().prefetch_related("stocks")
        texts = {article.info_code: indexed_words_of(article) for article in articles}
        words = set()
        for text in texts.values():
            words.update(re.findall(r"(?<![0-9a-z])[0-9a-z]+[\u4e00-\u9fff]{1,2}", text))
        sample = sorted(words)[::3]
        assert len(sample) > 30
        separators = r"[^0-9a-z\u4e00-\u9fff]*"
        wrong = {}
        for word in sample:
            letters, characters = re.fullmatch(r"([0-9a-z]+)(.+)", word).groups()
            pattern = re.compile(rf"(?<![0-9a-z]){letters}{separators}{characters}")
            expected = {code for code, text in texts.items() if pattern.search(text)}
            if set(found(word)) != expected:
                wrong[word] = (sorted(found(word)), sorted(expected))
        assert wrong == {}

    @pytest.mark.parametrize(
        ("query", "absent"),
        [
            ("FF", "202112082206960440"),  # only inside an English word
            ("CPP", "202205302396671645"),  # only inside "CPPIB"
            ("证券", "NW202201072239950893"),  # 太保 article: no 证券 anywhere in it
            ("BK0473", "202205302396671645"),  # auto-linked inside the source line only
            ("降准", "NW202201072239950893"),
        ],
    )
    def test_query_does_not_find_articles_that_do_not_mention_it(self, indexed_corpus, query, absent):
        assert absent not in found(query)

    def test_one_character_query(self, indexed_corpus):
        results = found("金")
        assert len(results) >= 10 and "NW202201072239950893" not in set(found("犇"))

    def test_title_matches_rank_above_body_matches(self, indexed_corpus):
        results = found("茅台")
        assert results[0] == "202112082206736335"  # "…贵州茅台股价重回2000元" has it in the title
        assert set(results[1:]) == {"202205302396671645", "NW202205302396671645", "NW202205292395438077"}

    def test_newer_first_among_equals(self, indexed_corpus):
        results = found("北向资金")
        published = [Article.objects.get(info_code=code).published_at for code in results]
        assert published == sorted(published, reverse=True)

    def test_the_broken_copy_never_shows_only_the_good_one(self, indexed_corpus):
        # -202205262391921712.md (empty title and date) is a broken copy of 2022-05-26-202205262391921712.md.
        article = Article.objects.get(info_code="202205262391921712")
        assert article.title and article.source_path.endswith("2022-05-26-202205262391921712.md")
        assert found("霍尼韦尔") == [article.info_code]


class TestSearchPage:
    def test_results_are_highlighted_and_paginated(self, client, indexed_corpus):
        content = client.get("/search/", {"q": "证券"}).content.decode()
        # 13 articles, three of them the copies of a story in another category: 10 stories.
        assert "共找到 10 条结果" in content
        assert "<mark>证券</mark>" in content
        assert 'href="?q=%E8%AF%81%E5%88%B8&amp;page=' not in content  # 10 results: one page
        assert content.count('class="article-item"') == 10

    def test_filters(self, client, indexed_corpus):
        def codes(**params):
            content = client.get("/search/", {"q": "腾讯", **params}).content.decode()
            return set(re.findall(r'href="/news/([^/]+)/', content))

        assert codes(category="emnews") == {"202112082206727327", "202205302396671645"}
        assert codes(stock="00700") == {"202205302396671645"}
        # As the search box reads a code: with its exchange, typed full-width.
        for written in ("0700.HK", "hk00700", "００７００", " 00700 "):
            assert codes(stock=written) == {"202205302396671645"}, written
        # One story (the emnews copy came first), in any category; the other category's copy within it.
        assert codes(start="2022-05-30", end="2022-05-30") == {"202205302396671645"}
        assert codes(category="zhongguozhengquanbao", start="2022-05-30") == {"202205302396671645"}
        assert codes(start="2022-05-31") == set()

    def test_query_count_is_bounded(self, client, indexed_corpus, django_assert_max_num_queries):
        client.get("/robots.txt")
        # "茅台": one title match and three body matches, so page 1 reads from both tiers. With the
        # look-ups of the tags and the stocks the query names (TestNamedTopics), eight; nine when
        # one is named (证券 is the board BK0473's name), to ask whether it has a page.
        for query in ("证券", "茅台"):
            with django_assert_max_num_queries(9):
                client.get("/search/", {"q": query})


class TestSearchForm:
    """Tests with data of their own (no corpus)."""

    def test_pagination_keeps_the_query(self, client, db):
        category = make_category()
        for number in range(25):
            make_article(category=category, title=f"央行公告{number}")
        rebuild_index()

        content = client.get("/search/", {"q": "央行"}).content.decode()
        assert "共找到 25 条结果" in content and 'href="?q=%E5%A4%AE%E8%A1%8C&amp;page=2"' in content
        second = client.get("/search/", {"q": "央行", "page": 2}).content.decode()
        assert second.count('class="article-item"') == 5
        assert 'href="/search/?q=%E5%A4%AE%E8%A1%8C" rel="prev"' in second, "page 1 without ?page=1"

    def test_results_read_their_times_as_lists_do(self, client, db):
        now = timezone.now()
        make_article(title="央行今天公告", published_at=now - dt.timedelta(minutes=5))
        make_article(title="央行旧公告", published_at=now - dt.timedelta(days=10))
        rebuild_index()

        content = client.get("/search/", {"q": "央行"}).content.decode()
        times = re.findall(r'<time datetime="[^"]+">([^<]+)</time>', content)
        assert times == [time_label(now - dt.timedelta(minutes=5)), time_label(now - dt.timedelta(days=10))]
        assert times[0].startswith(("今天 ", "昨天 ")) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", times[1])

    def test_a_query_not_found_as_written_suggests_its_words(self, client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            both = make_article(title="央行宣布降准0.25个百分点")
            make_article(title="央行开展逆回购操作")

        content = client.get("/search/", {"q": "央行降准", "start": "2020-01-01"}).content.decode()
        assert "共找到 0 条结果" in content, "what was typed is what is searched"
        assert "没有找到与“央行降准”完全一致的消息。分开搜索这些词试试" in content
        [link] = re.findall(r'class="search-suggestion"[^>]*>[^<]*<a href="\?([^"]+)">央行 降准</a>', content)
        assert "start=2020-01-01" in link, "the filters are kept"

        followed = client.get("/search/?" + link.replace("&amp;", "&")).content.decode()
        assert re.findall(r'href="/news/([^/]+)/', followed) == [both.info_code]
        assert "<mark>央行</mark>" in followed and "<mark>降准</mark>" in followed

        as_written = client.get("/search/", {"q": "央行宣布"}).content.decode()
        assert "共找到 1 条结果" in as_written and "分开搜索" not in as_written
        nowhere = client.get("/search/", {"q": "央行加息"}).content.decode()
        assert "共找到 0 条结果" in nowhere and "分开搜索" not in nowhere, "no suggestion that finds nothing"

    def test_empty_or_blank_query_shows_the_form(self, client, db):
        for query in ({}, {"q": ""}, {"q": "   "}):
            response = client.get("/search/", query)
            assert response.status_code == 200
            content = response.content.decode()
            assert 'name="q"' in content and "共找到" not in content

    def test_a_search_address_without_its_slash_keeps_the_query(self, client, db):
        make_article(title="贵州茅台股价重回2000元")
        rebuild_index()

        response = client.get("/search?q=%E8%8C%85%E5%8F%B0&start=2020-01-01", follow=True)

        assert response.redirect_chain == [("/search/?q=%E8%8C%85%E5%8F%B0&start=2020-01-01", 301)]
        assert "共找到 1 条结果" in response.content.decode()

    def test_filters_without_a_word_ask_for_one(self, client, db):
        for filters in (
            {"stock": "600519"},
            {"q": " ", "category": make_category("emnews").slug},
            {"start": "2022-01-07"},
        ):
            content = client.get("/search/", filters).content.decode()
            assert "请在“关键词”里输入要找的词" in content and "共找到" not in content, filters
        for query in ({}, {"q": ""}, {"q": "央行"}, {"q": "央行", "stock": "600519"}):
            assert "请在“关键词”里输入要找的词" not in client.get("/search/", query).content.decode(), query

    def test_a_query_of_nothing_searchable_says_so(self, client, db):
        make_article(title="央行公告：降准！")
        rebuild_index()

        for query in ("！！！", "。，、", "😀", "\u200b", "(*^_^*)"):
            response = client.get("/search/", {"q": query})
            content = response.content.decode()
            assert response.status_code == 200 and "共找到 0 条结果" in content, query
            assert "搜索词里没有可以搜索的字：请输入中文、字母或数字" in content and "试试更短的词" not in content, (
                query
            )
        assert "试试更短的词" in client.get("/search/", {"q": "加息"}).content.decode()

    def test_long_query_gets_a_clear_error(self, client, db):
        content = client.get("/search/", {"q": "降" * 101}).content.decode()
        assert "搜索词太长了" in content

    def test_a_long_stock_code_or_a_nul_is_told_in_plain_chinese(self, client, db):
        # Django's own Chinese: "确保该变量包含不超过 20 字符", "不允许是用空字符串" (sic).
        long_code = client.get("/search/", {"q": "央行", "stock": "6" * 21}).content.decode()
        nul = client.get("/search/", {"q": "央行\x00"}).content.decode()

        assert "最多 20 个字符（现在是 21 个）" in long_code and "变量" not in long_code
        assert "不能含有空字符（NUL，编码为 0 的控制字符）" in nul and "空字符串" not in nul

    def test_bad_dates_get_a_clear_error(self, client, db):
        content = client.get("/search/", {"q": "央行", "start": "2022-13-45"}).content.decode()
        assert "请输入有效的日期" in content
        content = client.get("/search/", {"q": "央行", "start": "2022-02-01", "end": "2022-01-01"}).content.decode()
        assert "开始日期不能晚于结束日期" in content
        # The ends of the calendar: no moment in Beijing to turn them into (these were a 500).
        for dates in ({"start": "0001-01-01"}, {"end": "9999-12-31"}):
            response = client.get("/search/", {"q": "央行", **dates})
            assert response.status_code == 200 and "日期须在 1900-01-01 到 2999-12-31 之间" in response.content.decode()

    def test_the_filters_fold_until_one_is_chosen(self, client, db):
        from bs4 import BeautifulSoup

        make_article(category=make_category("funds"), title="央行公告")
        rebuild_index()

        def search(**query):
            return BeautifulSoup(client.get("/search/", query).content.decode(), "lxml")

        # Folded, yet in the form: a search with them closed still sends them (empty).
        folded = search(q="央行")
        assert not folded.select_one("details.search-filters").has_attr("open")
        assert {field["name"] for field in folded.select("details.search-filters [name]")} == {
            "category",
            "stock",
            "start",
            "end",
        }
        assert folded.select_one("form.search-page-form details.search-filters")
        for chosen in ({"category": "funds"}, {"stock": "601601"}, {"start": "2022-13-45"}):
            assert search(q="央行", **chosen).select_one("details.search-filters").has_attr("open"), chosen
        # The help before a search, the results after it; one search box (the header's is left out).
        assert search().select_one(".search-help") and not folded.select_one(".search-help")
        assert not folded.select(".site-header form") and len(folded.select('input[name="q"]')) == 1
        assert BeautifulSoup(client.get("/").content.decode(), "lxml").select_one(".site-header form.search-form")

    def test_query_is_escaped(self, client, db):
        content = client.get("/search/", {"q": "<script>alert(1)</script>"}).content.decode()
        assert "<script>alert(1)" not in content and "&lt;script&gt;" in content


class TestTokens:
    def test_each_character_is_indexed_by_the_pair_it_starts(self):
        assert index_text("新能源汽车，A股 ＮＩＯ") == "新能 能源 源汽 汽车 车 a 股 nio"

    @pytest.mark.parametrize(
        ("word", "tokens"),
        [
            ("新能源", [("新能", False), ("能源", False)]),
            ("股", [("股", True)]),
            ("A股", [("a", False), ("股", True)]),
            ("第3", [("第", False), ("3", False)]),
            ("降准0.5", [("降准", False), ("准", False), ("0", False), ("5", False)]),
            ("新能源-汽车", [("新能", False), ("能源", False), ("源", False), ("汽车", False)]),
        ],
    )
    def test_query_words_become_phrases_of_the_same_tokens(self, word, tokens):
        assert phrase(query_terms(word)[0]) == tokens

    @pytest.mark.parametrize(
        ("query", "split"),
        [
            ("央行降准", "央行 降准"),
            ("美联储加息", "美联储 加息"),
            ("港股通资金", "港股 资金"),
            ("降准", None),
            ("A股 大涨", None),
            ("，。", None),
            ("的降准", None),
        ],
    )
    def test_split_into_dictionary_words(self, query, split):
        assert split_into_words(query) == split

    def test_invisible_characters_inside_words_are_ignored(self):
        assert index_text("降\u200b准\u00ad率") == index_text("降准率") == "降准 准率 率"
        assert query_terms("\ufeff降\u200d准") == [("降准",)]

    def test_highlight_marks_what_the_index_matched(self):
        assert (
            highlight("Office 的 FF 与 A股", query_terms("ff A股")) == "Office 的 <mark>FF</mark> 与 <mark>A股</mark>"
        )


class TestWordBoundaries:
    """Words that start or end where a run of characters does not: lone characters, mixed words."""

    @pytest.fixture
    def articles(self, django_capture_on_commit_callbacks):
        titles = ["A股大涨", "港股H股走弱", "美股收跌", "第3季度营收", "今年第3", "降准0.5个百分点", "股东减持"]
        with django_capture_on_commit_callbacks(execute=True):
            return {title: make_article(title=title).info_code for title in titles}

    @pytest.mark.parametrize(
        ("query", "titles"),
        [
            ("A股", {"A股大涨"}),
            ("H股", {"港股H股走弱"}),
            ("股", {"A股大涨", "港股H股走弱", "美股收跌", "股东减持"}),
            ("港股", {"港股H股走弱"}),
            ("第3", {"第3季度营收", "今年第3"}),
            ("降准0.5", {"降准0.5个百分点"}),
            ("准0", {"降准0.5个百分点"}),
            ("收", {"美股收跌", "第3季度营收"}),
            ("减持", {"股东减持"}),
        ],
    )
    def test_found_wherever_the_word_stands(self, articles, query, titles):
        assert set(found(query)) == {articles[title] for title in titles}


class TestManyMatches:
    @pytest.fixture
    def few_results(self, monkeypatch):
        monkeypatch.setattr(articles.search, "MAX_RESULTS", 5)

    def test_counts_and_pages_stop_at_the_limit(self, client, few_results, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            in_body = [make_article(title=f"消息{number}", body="<p>央行公告</p>") for number in range(3)]
            in_title = [make_article(title=f"央行公告{number}") for number in range(4)]
        results = SearchResults("央行", Article.objects.published())
        assert results.count() == 5 and results.truncated
        # All four title matches, then the newest body match.
        assert [article.pk for article in results[0:20]] == [article.pk for article in in_title + in_body[:1]]

        content = client.get("/search/", {"q": "央行"}).content.decode()
        assert "结果超过 5 条，只列出前 5 条" in content and content.count('class="article-item"') == 5
        assert not SearchResults("央行公告0", Article.objects.published()).truncated

    def test_admin_lists_the_newest_matches(self, client, few_results, django_capture_on_commit_callbacks):
        client.force_login(User.objects.create_superuser("boss", password="x"))
        with django_capture_on_commit_callbacks(execute=True):
            titles = [make_article(title=f"降准消息{number}").title for number in range(7)]
        content = client.get("/admin/articles/article/", {"q": "降准"}).content.decode()
        assert [title for title in titles if title in content] == titles[:5]

    def test_a_date_range_narrows_what_the_index_reads(self, django_capture_on_commit_callbacks):
        now = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            by_age = [make_article(title="央行动态", published_at=now - dt.timedelta(days=days)) for days in range(5)]
        after, before = now - dt.timedelta(days=3), now - dt.timedelta(days=1)
        # Candidates not narrowed at all: what is left out was left out by the index itself.
        results = SearchResults("央行", Article.objects.published(), published_after=after, published_before=before)
        assert [article.pk for article in results[0:20]] == [article.pk for article in by_age[1:4]]

    def test_rescheduled_articles_move_in_the_order(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            newer, older = make_article(title="北向资金流入"), make_article(title="北向资金流出")
        assert found("北向资金") == [newer.info_code, older.info_code]
        older.published_at = newer.published_at + dt.timedelta(minutes=1)
        publishing.save_article(older)
        assert found("北向资金") == [older.info_code, newer.info_code]

    def test_a_date_far_in_the_future_is_indexed(self, django_capture_on_commit_callbacks):
        far = dt.datetime(2100, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # the latest allowed
        with django_capture_on_commit_callbacks(execute=True):
            article = make_article(title="远期定时稿件", published_at=far)
        assert found("远期定时") == [] and found("远期定时", Article.objects.all()) == [article.info_code]

    def test_sqlite_reads_matches_from_the_index_first(self, db):
        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL's planner chooses by its statistics")
        # Driven from the articles table instead, a rare word would scan every published article.
        results = SearchResults("降准", Article.objects.published())
        sql, params = results._matches("anywhere")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN SELECT 1 {sql}", params)
            steps = [row[-1] for row in cursor.fetchall()]
        assert steps[0].startswith("SCAN articles_search VIRTUAL TABLE"), steps
        assert any("USING INTEGER PRIMARY KEY" in step for step in steps), steps


class TestIndexUpdates:
    def test_import_updates_the_index(self, write_post, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            run_import(write_post("2022-01-07-A1.md", post_text(title='"宁德时代发布新电池"')))
        assert found("宁德时代") == ["A1"]

    def test_editing_unpublishing_and_deleting(self):
        # Written in the change's own transaction: nothing waits for a commit.
        article = make_article(title="旧标题")
        assert found("旧标题") == [article.info_code]

        article.title = "新标题"
        publishing.save_article(article)
        assert found("旧标题") == [] and found("新标题") == [article.info_code]

        publishing.set_status(Article.objects.filter(pk=article.pk), Article.Status.DRAFT)
        assert found("新标题") == [], "unpublished articles leave the results at once"

        publishing.delete_articles(Article.objects.filter(pk=article.pk))
        assert found("新标题", Article.objects.all()) == []

    def test_what_a_rolled_back_write_indexed_is_gone_with_it(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            make_article(title="回滚的稿件")
            raise RuntimeError("the import's connection dropped")
        assert found("回滚的稿件", Article.objects.all()) == []

    def test_stock_names_and_codes_are_indexed(self, django_capture_on_commit_callbacks):
        stock = make_stock("601601", name="中国太保")
        with django_capture_on_commit_callbacks(execute=True):
            article = make_article(title="保险行业动态", stocks=[stock])
        assert found("601601") == found("中国太保") == [article.info_code]
        # As quote sites write a code with its exchange.
        for written in ("601601.SH", "SH601601", "sh601601", "SH:601601", "６０１６０１.ＳＨ"):
            assert found(written) == [article.info_code], written
        assert found("601601.SZ.X") == []

        stock.name = "太平洋保险"
        publishing.save_topic(stock)
        assert found("太平洋保险") == [article.info_code]

    def test_long_bodies_are_searchable_alike_on_both_databases(self, django_capture_on_commit_callbacks):
        # Varied filler: PostgreSQL keeps at most 256 positions of one token.
        filler = "".join(chr(0x4E00 + number * 7919 % 20000) for number in range(15_000))
        with django_capture_on_commit_callbacks(execute=True):
            article = make_article(body=f"<p>{filler}。降准落地。{filler}。降息落地。</p>")
        assert found("降准落地") == [article.info_code], "within the first 16,000 characters"
        assert found("降息落地") == [], "beyond them, on either database"

    def test_a_results_snippet_is_made_from_a_bounded_part_of_its_body(
        self, client, monkeypatch, django_capture_on_commit_callbacks
    ):
        """A 19 MB article made every search matching it take 2.2 s: its snippet was built from all of it."""
        paragraph = "<p>" + "".join(chr(0x4E00 + number * 7919 % 20000) for number in range(1000)) + "</p>"
        with django_capture_on_commit_callbacks(execute=True):
            small = make_article(body="<p>央行宣布降准落地。</p>")
            huge = make_article(body=f"<p>市场消息：降准落地。</p>{paragraph * 5000}")  # 5 million characters
        made_from = []
        real_plain_text = plain_text
        monkeypatch.setattr(
            "articles.site.views.plain_text", lambda html: made_from.append(html) or real_plain_text(html)
        )

        page = client.get("/search/", {"q": "降准落地"}).content.decode()

        assert "央行宣布<mark>降准落地</mark>。" in page and "市场消息：<mark>降准落地</mark>。" in page
        assert sorted(map(len, made_from)) == [len(small.body), articles.search.SNIPPET_SOURCE_CHARACTERS]
        assert len(huge.body) > 50 * articles.search.SNIPPET_SOURCE_CHARACTERS
        (result,) = SearchResults("市场消息", Article.objects.all())[0:10]
        assert "body" in result.get_deferred_fields()

    def test_future_articles_are_never_returned(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            make_article(title="定时发布的降息消息", published_at=timezone.now() + dt.timedelta(hours=1))
        assert found("降息") == []

    def test_rebuild_command(self, db):
        article = make_article(title="重建索引测试")
        call_command("rebuild_search_index", verbosity=0)
        assert found("重建索引") == [article.info_code]


def test_admin_search_uses_the_index_and_sees_drafts(client, django_capture_on_commit_callbacks):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    with django_capture_on_commit_callbacks(execute=True):
        make_article(title="草稿：降准预期升温", status=Article.Status.DRAFT)
        make_article(title="别的消息", stocks=[make_stock("601601")])

    with CaptureQueriesContext(connection) as queries:
        assert "草稿：降准预期升温" in client.get("/admin/articles/article/", {"q": "降准"}).content.decode()
    counts = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"]]
    assert counts and all(" WHERE " in sql for sql in counts), "no count of every article"
    by_code = client.get("/admin/articles/article/", {"q": "601601"}).content.decode()
    assert "别的消息" in by_code and "降准预期" not in by_code


def index_entries():
    """Every entry of the index as stored, by article id: what a rebuild must leave as it is."""
    backend = articles.search.current_backend()
    columns = "title, body, stocks" if connection.vendor == "sqlite" else "title::text, document::text"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT article_id, key, {columns} FROM {backend.entries_table} ORDER BY article_id")
        return cursor.fetchall()


class TestTags:
    """A reader who types a tag's name finds the articles carrying it, as the tag's page lists them."""

    @pytest.fixture
    def fed(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            return {
                "tagged": make_article(title="加息预期升温", body="<p>鲍威尔讲话。</p>", tags=["美联储"]),
                "titled": make_article(title="美联储维持利率不变"),
                "other": make_article(title="联储证券发布研报", tags=["券商"]),
            }

    def test_a_tags_name_finds_its_articles_where_their_text_does_not_name_it(self, fed):
        # The article naming it in its title first, as before; the tagged one with the body matches.
        assert found("美联储") == [fed["titled"].info_code, fed["tagged"].info_code]
        assert found("美联储 加息") == [fed["tagged"].info_code], "each word: in the text, or a tag it names"
        assert found("美联储 鲍威尔") == [fed["tagged"].info_code]
        assert found("美联储 降息") == []

    def test_only_the_whole_name_of_a_tag(self, fed, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            source = make_article(title="油价大涨", tags=["中国证券报新闻"])
        assert found("联储") == [fed["titled"].info_code, fed["other"].info_code], "not a part of 美联储"
        assert source.info_code not in found("证券"), "a word inside a source's tag finds nothing"
        assert found("中国证券报新闻") == [source.info_code]

    def test_latin_names_case_aside_and_as_a_whole(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            article = make_article(title="加息预期升温", tags=["Federal Reserve", "FOMC"])
        for query in ("Federal Reserve", "federal   reserve", "FEDERAL RESERVE", "fomc", "FOMC 加息"):
            assert found(query) == [article.info_code], query
        assert found("Federal") == [] and found("Reserve Federal") == []

    def test_a_run_of_words_naming_a_tag_among_other_words(self, client, django_capture_on_commit_callbacks):
        """Federal Reserve 降息: the run Federal Reserve stands for its tag, so an article carrying it
        needs 降息 alone in its text; a word of the run alone (Federal 降息) names no tag."""
        with django_capture_on_commit_callbacks(execute=True):
            titled = make_article(title="Federal Reserve 降息在即")
            cut = make_article(title="利率决议公布", body="<p>宣布降息二十五个基点。</p>", tags=["Federal Reserve"])
            held = make_article(title="利率决议前瞻", body="<p>维持利率不变。</p>", tags=["Federal Reserve"])
        for query in ("Federal Reserve 降息", "federal reserve 降息", "降息 Federal Reserve", "降息 FEDERAL  RESERVE"):
            assert found(query) == [titled.info_code, cut.info_code], query
        assert found("Federal Reserve 利率") == [cut.info_code, held.info_code], "the tag, and 利率 in each text"
        assert found("Federal 降息") == [titled.info_code] and found("降息 Reserve") == [titled.info_code]
        assert found("Reserve Federal 降息") == [titled.info_code], "the words of a name in its order"

        assert topic_links(client, "降息 Federal Reserve") == [("标签：Federal Reserve →", "/tag/federal-reserve/")]

    def test_a_name_of_three_words_inside_a_query_of_four(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            article = make_article(title="英国央行议息", body="<p>宣布加息。</p>", tags=["Bank of England", "England"])
        for query in ("加息 Bank of England", "Bank of England 加息", "bank OF england 加息"):
            assert found(query) == [article.info_code], query
        # England names a tag too, but Bank and of stay words the text must have.
        for query in ("Bank of 加息", "Bank England 加息", "of England 加息", "降息 Bank of England"):
            assert found(query) == [], query

    def test_the_runs_looked_up_are_bounded_whatever_the_query(self, django_assert_num_queries):
        """Runs of the query's first MAX_QUERY_TERMS words only: at most 45 names of several words,
        looked up with the single words in one query."""
        from articles.search.names import names_in

        many = " ".join(f"w{number}" for number in range(40))
        assert len([name for name, _ in names_in(many) if " " in name]) == 45
        repeated = "降息 " * 50
        assert len([name for name, _ in names_in(repeated) if " " in name]) == 45
        with django_assert_num_queries(1):
            assert SearchResults(many, Article.objects.all()).tags == []

    def test_the_index_follows_the_tags_of_an_article(self, fed):
        article = fed["tagged"]
        publishing.save_article(article, tags=["货币政策"])
        assert article.info_code not in found("美联储") and found("货币政策") == [article.info_code]
        publishing.save_article(article, tags=[])
        assert found("货币政策") == []

    def test_renaming_merging_and_deleting_tags(self, fed):
        from articles.models import Tag

        article = fed["tagged"]
        tag = Tag.objects.get(name="美联储")
        tag.name = "美国联邦储备委员会"
        publishing.save_topic(tag)
        assert found("美国联邦储备委员会") == [article.info_code] and article.info_code not in found("美联储")

        publishing.merge_tags(Tag.objects.get(name="券商"), Tag.objects.filter(pk=tag.pk))
        assert found("美国联邦储备委员会") == []
        assert found("券商") == [article.info_code, fed["other"].info_code]

        publishing.delete_topics(Tag.objects.filter(name="券商"))
        assert found("券商") == []
        stored = index_entries()
        rebuild_index()
        assert index_entries() == stored, "each change left the entries a rebuild writes"

    @pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's limit on a statement's parameters")
    def test_deleting_a_tag_of_more_articles_than_a_statement_takes(self, fed):
        """SQLite takes at most 32,766 parameters to a statement (a source's tag can be on more
        articles): here lowered to the 999 Django assumes of it, for a test of a thousand."""
        import sqlite3

        from articles.models import Tag, TaggedArticle

        template = fed["tagged"]
        copies = Article.objects.bulk_create(
            Article(
                category_id=template.category_id, info_code=f"T9{number:05d}", slug=f"jia-xi-{number}",
                title=template.title, status=template.status, published_at=template.published_at,
            )
            for number in range(1100)
        )  # fmt: skip
        tag = Tag.objects.get(name="美联储")
        TaggedArticle.objects.bulk_create(TaggedArticle(tag=tag, content_object_id=copy.pk) for copy in copies)
        articles.search.index_articles([copy.pk for copy in copies])
        assert len(found("美联储")) == 100  # the page's worth; the tagged copies among them

        driver = connection.connection
        limit = driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        try:
            publishing.delete_topics(Tag.objects.filter(pk=tag.pk))
        finally:
            driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)

        assert found("美联储") == [fed["titled"].info_code]

    def test_drafts_in_the_admin_found_by_their_tag(self, client, django_capture_on_commit_callbacks):
        client.force_login(User.objects.create_superuser("boss", password="x"))
        with django_capture_on_commit_callbacks(execute=True):
            make_article(title="草稿：利率决议", status=Article.Status.DRAFT, tags=["美联储"])
            make_article(title="别的利率消息")
        for query in ("美联储", "美联储 利率"):
            content = client.get("/admin/articles/article/", {"q": query}).content.decode()
            assert "草稿：利率决议" in content and "别的利率消息" not in content, query

    def test_a_rebuild_gives_old_entries_their_tags_in_place(self, fed, monkeypatch):
        """Entries written before tags were indexed (as 0024 leaves them) find their articles by
        their text until `rebuild_search_index` writes them again, one batch a transaction: search
        answers from the entries not yet rewritten while it runs. An entry whose article is gone goes."""
        written = index_entries()
        backend = articles.search.current_backend()
        untagged = [
            articles.search.index_entry(article, article.stocks.all(), [])
            for article in Article.objects.filter(pk__in=[fed["tagged"].pk, fed["other"].pk])
        ]
        with connection.cursor() as cursor:
            backend.replace(cursor, untagged)
            backend.insert(cursor, [(999_999, search_key(fed["other"].published_at, 999_999), "", "", "")])
        assert found("美联储") == [fed["titled"].info_code] and found("券商") == []

        monkeypatch.setattr(articles.search, "INDEX_BATCH_SIZE", 1)
        seen = []
        rebuild_index(lambda done, total: seen.append((found("研报"), found("券商"))))

        assert index_entries() == written
        assert found("美联储") == [fed["titled"].info_code, fed["tagged"].info_code]
        # Each batch its own: the other's tag found once its entry is rewritten, its text all along.
        assert len(seen) == 3 and all(searched == [fed["other"].info_code] for searched, _ in seen)
        assert [tagged for _, tagged in seen] == [[], [], [fed["other"].info_code]]

    def test_migrate_takes_out_the_entries_of_articles_deleted_around_the_write_path(self, fed):
        """post_migrate (after migrate, and after a test database's flush, which knows no index
        table): an entry whose article's row was deleted by SQL goes, and an article left out is indexed."""
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM articles_article WHERE id = %s", [fed["titled"].pk])
            articles.search.current_backend().delete(cursor, [fed["other"].pk])

        articles.search.index_unindexed_articles()

        assert [row[0] for row in index_entries()] == [fed["tagged"].pk, fed["other"].pk]


class TestNamedTopics:
    """The results page links the tag or stock that the query names, above the results."""

    @pytest.fixture
    def topics(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            moutai = make_stock("600519", name="贵州茅台")
            apple = make_stock("AAPL", market="nasdaq", name="苹果")
            hna = make_stock("600221", name="*ST海航")
            ping_an = [make_stock("601318", name="中国平安"), make_stock("02318", market="hk", name="中国平安")]
            tencent = make_stock("00700", market="hk", name="腾讯控股")
            make_article(
                title="白酒板块走强",
                tags=["美联储", "Federal Reserve"],
                stocks=[moutai, apple, hna, *ping_an, tencent],
            )
            make_article(title="草稿", status=Article.Status.DRAFT, tags=["内部"], stocks=[make_stock("000001")])

    @pytest.mark.parametrize(
        ("query", "links"),
        [
            ("美联储", [("标签：美联储 →", "/tag/mei-lian-chu/")]),
            (" federal reserve ", [("标签：Federal Reserve →", "/tag/federal-reserve/")]),
            ("贵州茅台", [("股票：贵州茅台 600519（上海） →", "/stock/sh/600519/")]),
            ("600519", [("股票：贵州茅台 600519（上海） →", "/stock/sh/600519/")]),
            ("SH600519", [("股票：贵州茅台 600519（上海） →", "/stock/sh/600519/")]),
            ("600519.sh", [("股票：贵州茅台 600519（上海） →", "/stock/sh/600519/")]),
            # A word of the query names it: what the reader searches news of.
            ("贵州茅台 业绩", [("股票：贵州茅台 600519（上海） →", "/stock/sh/600519/")]),
            ("加息 美联储", [("标签：美联储 →", "/tag/mei-lian-chu/")]),
            (
                "AAPL 美联储",
                [("标签：美联储 →", "/tag/mei-lian-chu/"), ("股票：苹果 AAPL（纳斯达克） →", "/stock/nasdaq/AAPL/")],
            ),
            # A run of the query's words naming a tag, in the order the query names them.
            ("Federal Reserve 白酒", [("标签：Federal Reserve →", "/tag/federal-reserve/")]),
            ("白酒 federal reserve", [("标签：Federal Reserve →", "/tag/federal-reserve/")]),
            (
                "美联储 Federal Reserve",
                [("标签：美联储 →", "/tag/mei-lian-chu/"), ("标签：Federal Reserve →", "/tag/federal-reserve/")],
            ),
            (
                "Federal Reserve 美联储",
                [("标签：Federal Reserve →", "/tag/federal-reserve/"), ("标签：美联储 →", "/tag/mei-lian-chu/")],
            ),
            # HKEX's five digits, as Yahoo Finance and many readers write them with four.
            ("0700.HK", [("股票：腾讯控股 00700（香港） →", "/stock/hk/00700/")]),
            ("hk00700", [("股票：腾讯控股 00700（香港） →", "/stock/hk/00700/")]),
            ("aapl", [("股票：苹果 AAPL（纳斯达克） →", "/stock/nasdaq/AAPL/")]),
            # A US ticker as Chinese news writes it, 苹果(AAPL.O), and as brokers' apps do.
            ("AAPL.O", [("股票：苹果 AAPL（纳斯达克） →", "/stock/nasdaq/AAPL/")]),
            ("aapl.us 业绩", [("股票：苹果 AAPL（纳斯达克） →", "/stock/nasdaq/AAPL/")]),
            ("*ST海航", [("股票：*ST海航 600221（上海） →", "/stock/sh/600221/")]),
            # As a Chinese input method types them in its full-width mode (the search folds them too).
            ("ＡＡＰＬ", [("股票：苹果 AAPL（纳斯达克） →", "/stock/nasdaq/AAPL/")]),
            ("６００５１９", [("股票：贵州茅台 600519（上海） →", "/stock/sh/600519/")]),
            ("ｆｅｄｅｒａｌ　ｒｅｓｅｒｖｅ", [("标签：Federal Reserve →", "/tag/federal-reserve/")]),
            (
                "中国平安",
                [
                    ("股票：中国平安 02318（香港） →", "/stock/hk/02318/"),
                    ("股票：中国平安 601318（上海） →", "/stock/sh/601318/"),
                ],
            ),
        ],
    )
    def test_a_query_naming_a_tag_or_a_stock_links_its_page(self, client, topics, query, links):
        assert topic_links(client, query) == links
        for _, address in links:
            assert client.get(address).status_code == 200

    def test_a_tag_typed_full_width_finds_its_articles(self, client, topics):
        from bs4 import BeautifulSoup

        for query in (
            "Federal Reserve",
            "ＦＥＤＥＲＡＬ ＲＥＳＥＲＶＥ",
            "ｆｅｄｅｒａｌ　ｒｅｓｅｒｖｅ",
            "美联储 白酒",
            "白酒 ＦＥＤＥＲＡＬ ＲＥＳＥＲＶＥ",
        ):
            page = BeautifulSoup(client.get("/search/", {"q": query}).content.decode(), "lxml")
            assert [link.get_text() for link in page.select(".article-item-title")] == ["白酒板块走强"], query

    def test_a_hong_kong_code_written_with_four_digits_finds_its_articles(self, client, topics):
        for query in ("0700.HK", "HK0700", "00700.hk"):
            assert found(query) == found("00700") != [], query

    def test_a_us_ticker_written_with_its_exchange_finds_its_articles(self, client, topics):
        for query in ("AAPL.O", "aapl.o", "ＡＡＰＬ．Ｏ", "AAPL.US"):
            assert found(query) == found("AAPL") != [], query

    def test_no_link_for_a_part_of_a_name_another_market_or_a_page_that_does_not_exist(self, client, topics):
        assert topic_links(client, "贵州茅台") and topic_links(client, "美联储"), "the whole names are linked"
        for query in ("茅台", "600519.SZ", "内部", "000001", "Federal", "60051.SH", "700.HK", "Federal 加息", "AAPL.N"):
            assert topic_links(client, query) == [], query

    def test_the_page_costs_the_same_queries_whatever_it_finds(
        self, client, django_assert_num_queries, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            moutai = make_stock("600519", name="贵州茅台")
            for number in range(25):
                make_article(title=f"贵州茅台公告{number}", tags=["贵州茅台"], stocks=[moutai])
            make_article(
                title="白酒消息",
                tags=["五粮液", "Wuliangye Yibin"],
                stocks=[make_stock("000858", market="sz", name="五粮液")],
            )
        client.get("/robots.txt")
        # The tags named, two counts, the page's ids (of one tier here), its articles, the stocks
        # named, the categories of the filter; and whether the tag and the stock named have pages.
        for query, named in (("公告", 0), ("白酒", 0), ("贵州茅台", 2), ("五粮液", 2), ("Wuliangye Yibin 白酒", 1)):
            with django_assert_num_queries(7 + named):
                client.get("/search/", {"q": query})

    def test_sqlite_looks_names_up_by_their_index(self, db):
        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL's planner chooses by its statistics")
        from articles.models import StockReference, Tag
        from articles.search.names import tags_named, topics_named

        for model, lookup in (
            (Tag, lambda: tags_named(["美联储", "Fed"])),
            (StockReference, lambda: topics_named("茅台", [])),
        ):
            with CaptureQueriesContext(connection) as queries:
                lookup()
            [sql] = [query["sql"] for query in queries.captured_queries]
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                plan = " ".join(row[-1] for row in cursor.fetchall())
            assert plan.startswith(f"SEARCH {model._meta.db_table} USING INDEX {model._meta.indexes[0].name} "), plan
