"""What the scraper and the editors write is what readers get (#23): Chinese emphasis, the ``*ST``
prefix, angle-bracketed codes, invisible characters, times, stray bytes and old addresses."""

import datetime as dt
import json
import re
import sqlite3
import unicodedata
from collections import Counter

import pytest
from bs4 import BeautifulSoup
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from reversion.models import Version

from articles import publishing
from articles.intake import reasons
from articles.intake.body import clean_body
from articles.intake.frontmatter import decode_post, split_front_matter
from articles.intake.posts import CATEGORY_TITLES
from articles.models import Article, Category, ImportProblem, IngestToken, StockReference, Tag
from articles.sanitize import FORMAT_CHARACTERS, html_left_out_of, plain_label, plain_text, sanitize_html
from tests.conftest import SAMPLE_POSTS, post_text, run_import
from tests.factories import article_form, make_article, make_category, make_editor

pytestmark = pytest.mark.django_db

CJK_PUNCTUATION = "：，。；！？（）《》“”「」【】、"

BOLD_POST = """---
layout: post
title: "某公司：股票将停牌"
date: 2022-05-31 16:00:00 +0800
categories: cailianshe
tags: 财联社新闻
---

**重要提示：**公司股票自6月1日起停牌。**中国平安（601318）**公告称拟回购股份。
"""
ST_POST = """---
layout: post
title: "两只ST股涨停"
date: 2022-05-31 15:10:00 +0800
categories: cailianshe
tags: 财联社新闻
---

> *ST海航和*ST天娱今日双双涨停。

*ST海航和*ST天娱今日双双涨停，ST板块午后走强。
"""
FED_POST = """---
layout: post
title: "美联储加息预期升温，港股承压"
date: 2022-05-31 11:00:00 +0800
categories: cailianshe
tags:
  - 财联社新闻
  - Federal Reserve
---

美联储官员讲话后，市场加息预期升温。
"""
ISSUE_POSTS = {
    "2022-05-31-NW202205310000000101.md": BOLD_POST,
    "2022-05-31-NW202205310000000102.md": ST_POST,
    "2022-05-31-NW202205310000000103.md": FED_POST,
}


def body_of(markdown):
    return clean_body(markdown, []).html


class TestChineseEmphasis:
    """markdown-it-cjk-friendly's rule: a ``*`` run beside a CJK character opens and closes."""

    def test_the_issue_post(self, write_post):
        run_import(write_post("2022-05-31-NW202205310000000101.md", BOLD_POST))

        body = Article.objects.get().body
        assert body == (
            "<p><strong>重要提示：</strong>公司股票自6月1日起停牌。"
            "<strong>中国平安（601318）</strong>公告称拟回购股份。</p>"
        )

    @pytest.mark.parametrize("mark", CJK_PUNCTUATION)
    @pytest.mark.parametrize("delimiter, element", [("**", "strong"), ("*", "em")])
    def test_every_full_width_mark_inside_and_outside_either_end(self, mark, delimiter, element):
        d, opening, closing = delimiter, f"<{element}>", f"</{element}>"
        cases = {
            f"公司{d}加粗{mark}{d}正文": f"公司{opening}加粗{mark}{closing}正文",
            f"公司{d}{mark}加粗{d}正文": f"公司{opening}{mark}加粗{closing}正文",
            f"公司{mark}{d}加粗{d}正文": f"公司{mark}{opening}加粗{closing}正文",
            f"公司{d}加粗{d}{mark}正文": f"公司{opening}加粗{closing}{mark}正文",
            f"{d}{mark}加粗{mark}{d}正文": f"{opening}{mark}加粗{mark}{closing}正文",
        }
        for markdown, html in cases.items():
            assert body_of(markdown) == f"<p>{html}</p>", markdown

    @pytest.mark.parametrize(
        "markdown, html",
        [
            ("a **b** c", "a <strong>b</strong> c"),
            ("a**b**c", "a<strong>b</strong>c"),
            ("snake_case_name", "snake_case_name"),  # "_" keeps CommonMark's rule inside words
            ("2 * 3 * 4", "2 * 3 * 4"),
            ("**“引号”**之后", "<strong>“引号”</strong>之后"),
        ],
    )
    def test_what_commonmark_did_right_stays(self, markdown, html):
        assert body_of(markdown) == f"<p>{html}</p>"


class TestRiskWarningPrefix:
    """``*ST`` and ``S*ST`` belong to a stock's name: never emphasis, never lost."""

    def test_the_issue_post_everywhere(self, client, write_post, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            run_import(write_post("2022-05-31-NW202205310000000102.md", ST_POST))

        article = Article.objects.get()
        assert article.body == "<p>*ST海航和*ST天娱今日双双涨停，ST板块午后走强。</p>"
        assert article.summary == "*ST海航和*ST天娱今日双双涨停。"
        page = client.get(article.get_absolute_url()).content.decode()
        assert "<p>*ST海航和*ST天娱今日双双涨停，ST板块午后走强。</p>" in page
        assert 'content="*ST海航和*ST天娱今日双双涨停。"' in page  # the description
        feed = client.get("/feed.xml").content.decode()
        assert "*ST海航和*ST天娱今日双双涨停。" in feed
        api = client.get("/api/v1/articles/").json()["items"][0]
        assert api["summary"] == "*ST海航和*ST天娱今日双双涨停。"
        detail = client.get(f"/api/v1/articles/{article.info_code}/").json()
        assert detail["body_text"] == "*ST海航和*ST天娱今日双双涨停，ST板块午后走强。"
        search = client.get("/search/?q=天娱").content.decode()
        assert "*ST" in search and "<em>ST" not in search

    @pytest.mark.parametrize(
        "markdown, html",
        [
            ("*ST海航和*ST天娱", "*ST海航和*ST天娱"),
            ("S*ST前锋复牌", "S*ST前锋复牌"),
            ("关注*ST目药、*ST辅仁。", "关注*ST目药、*ST辅仁。"),
            ("**重点：*ST海航**", "<strong>重点：*ST海航</strong>"),
            ("***ST海航**涨停", "<strong>*ST海航</strong>涨停"),
            ("*强调*与*ST海航", "<em>强调</em>与*ST海航"),
            ("*STAR Market*", "<em>STAR Market</em>"),  # not a stock name: ST before a letter
        ],
    )
    def test_the_kind(self, markdown, html):
        assert body_of(markdown) == f"<p>{html}</p>"

    def test_title_summary_and_export_round_trip(self, write_post, tmp_path):
        make_category("cailianshe")
        article = make_article(
            title="*ST海航、S*ST前锋摘帽", summary="*ST海航_和*ST天娱", body="<p>*ST海航和*ST天娱</p>"
        )
        exported = tmp_path / "export"
        from articles.intake.exporting import export_posts

        export_posts(exported)
        Article.objects.all().delete()
        run_import(exported)

        again = Article.objects.get(info_code=article.info_code)
        assert (again.title, again.summary, again.body) == (
            "*ST海航、S*ST前锋摘帽",
            "*ST海航_和*ST天娱",
            "<p>*ST海航和*ST天娱</p>",
        )


class TestAngleBrackets:
    """Only names of HTML elements are markup in a body; nothing in a title, summary or name is."""

    TITLE = "苹果<AAPL.O>盘前涨2%，A股<B股溢价收窄"
    BODY = "苹果<AAPL.O>盘前涨2%，美元指数<DXY>回落。"

    def test_the_issue_post_on_every_path(self, client, write_post, django_capture_on_commit_callbacks, tmp_path):
        text = post_text(title=json.dumps(self.TITLE, ensure_ascii=False), body=f"> {self.BODY}\n\n{self.BODY}")
        with django_capture_on_commit_callbacks(execute=True):
            run_import(write_post("2022-01-07-RIC1.md", text))
        article = Article.objects.get()
        escaped_title = "苹果&lt;AAPL.O&gt;盘前涨2%，A股&lt;B股溢价收窄"

        assert article.title == self.TITLE and article.summary == self.BODY
        assert article.body == "<p>苹果&lt;AAPL.O&gt;盘前涨2%，美元指数&lt;DXY&gt;回落。</p>"
        page = client.get(article.get_absolute_url()).content.decode()
        assert f"<title>{escaped_title} - 金融消息</title>" in page
        assert f'<meta property="og:title" content="{escaped_title}">' in page
        json_ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)[1])
        assert json_ld["headline"] == self.TITLE
        feed = client.get("/feed.xml").content.decode()
        assert f"<title>{escaped_title}</title>" in feed and "美元指数&lt;DXY&gt;回落" in feed
        assert client.get("/api/v1/articles/").json()["items"][0]["title"] == self.TITLE
        snippet = client.get("/search/?q=美元指数").content.decode()
        assert "&lt;DXY&gt;回落" in snippet and "<DXY>" not in snippet

        from articles.intake.exporting import export_posts

        export_posts(tmp_path / "export")
        Article.objects.all().delete()
        run_import(tmp_path / "export")
        again = Article.objects.get()
        assert (again.title, again.summary, again.body) == (article.title, article.summary, article.body)

    def test_an_editor_saves_them_unchanged(self, client, db):
        client.force_login(make_editor())
        category = make_category()
        body = "<p>苹果&lt;AAPL.O&gt;盘前涨2%，美元指数&lt;DXY&gt;回落。</p>"
        client.post(
            "/admin/articles/article/add/", article_form(category, title=self.TITLE, summary=self.BODY, body=body)
        )

        article = Article.objects.get()
        assert (article.title, article.summary, article.body) == (self.TITLE, self.BODY, body)

    def test_the_api_ingest(self, client, db):
        _, token = IngestToken.objects.create_token("scraper")
        text = post_text(title=json.dumps(self.TITLE, ensure_ascii=False), body=self.BODY)
        response = client.post(
            "/api/v1/posts/?name=2022-01-07-RIC2.md",
            data=text.encode(),
            content_type="application/octet-stream",
            headers={"Authorization": f"Bearer {token}"},
        )

        assert response.status_code == 201, response.content
        article = Article.objects.get()
        assert article.title == self.TITLE
        assert article.body == "<p>苹果&lt;AAPL.O&gt;盘前涨2%，美元指数&lt;DXY&gt;回落。</p>"

    @pytest.mark.parametrize(
        "html, kept",
        [
            ("<p>腾讯<0700.HK>涨3%</p>", "<p>腾讯&lt;0700.HK&gt;涨3%</p>"),
            ("<p>茅台<600519.SS>，指数<DXY></p>", "<p>茅台&lt;600519.SS&gt;，指数&lt;DXY&gt;</p>"),
            ("<p>若 x<y 且 y>z</p>", "<p>若 x&lt;y 且 y&gt;z</p>"),
            ("<p>A股<B股</p>", "<p>A股&lt;B股</p>"),
            ("<p>代码</DXY>止</p>", "<p>代码&lt;/DXY&gt;止</p>"),
            ("<p><b>加粗</b><span>去掉</span><script>x()</script></p>", "<p><strong>加粗</strong>去掉</p>"),
            ('<p class="MsoNormal">正文<o:p></o:p><st1:chsdate Year="2022">5月</st1:chsdate></p>', "<p>正文5月</p>"),
            ("<p>链接 <http://example.com/a> 在此</p>", "<p>链接 &lt;http://example.com/a&gt; 在此</p>"),
        ],
    )
    def test_the_kind_in_bodies(self, html, kept):
        assert body_of(html) == kept
        assert publishing.save_article(make_article(body=html)).body == kept

    @pytest.mark.parametrize(
        "markdown, html",
        [
            ("<DXY>\n指数回落", "<p>&lt;DXY&gt;\n指数回落</p>"),  # CommonMark's "HTML block" of an unknown tag
            ("正文\n\n<AAPL.O> 涨了", "<p>正文</p>\n<p>&lt;AAPL.O&gt; 涨了</p>"),
            (
                "美元指数<DXY>回落，**重要：**<0700.HK>",
                "<p>美元指数&lt;DXY&gt;回落，<strong>重要：</strong>&lt;0700.HK&gt;</p>",
            ),
            ("<div>\n块\n</div>", "块"),
        ],
    )
    def test_the_kind_in_markdown(self, markdown, html):
        assert body_of(markdown) == html

    @pytest.mark.parametrize("name", ["<DXY>", "A股<B股", "<b>宏观</b>", "&amp;", "1 < 2 > 0"])
    def test_the_kind_in_names(self, name):
        assert plain_label(name) == name
        tag = publishing.save_topic(Tag(name=name))
        assert Tag.objects.get(pk=tag.pk).name == name


BIDI_AND_FORMAT = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u200b",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\U000e0041",
]


class TestInvisibleCharacters:
    def test_a_right_to_left_override_in_a_title(self, client, write_post):
        run_import(write_post("2022-01-07-RLO1.md", post_text(title='"央行\u202e降准"')))

        article = Article.objects.get()
        assert article.title == "央行降准"
        page = client.get(article.get_absolute_url()).content.decode()
        assert "<title>央行降准 - 金融消息</title>" in page and "\u202e" not in page
        assert "\u202e" not in client.get("/feed.xml").content.decode()

    @pytest.mark.parametrize("character", BIDI_AND_FORMAT, ids=lambda c: f"U+{ord(c):04X}")
    def test_every_bidirectional_and_format_character_is_dropped_from_names(self, character):
        assert plain_label(f"港{character}股") == "港股"
        with pytest.raises(ValidationError):
            publishing.save_topic(Category(name=f"港{character}股"))

    def test_the_rule_covers_all_of_category_cf_but_the_joiner_in_emoji(self):
        everything = [chr(code) for code in range(0x110000) if unicodedata.category(chr(code)) == "Cf"]
        kept = [character for character in everything if plain_label(f"a{character}b") != "ab"]
        assert kept == []
        family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
        assert plain_label(f"家庭{family}") == f"家庭{family}"
        assert FORMAT_CHARACTERS.sub("", "\u200d港\u200d股") == "港股"

    def test_an_editor_typing_one_into_a_title(self, client, db):
        client.force_login(make_editor())
        client.post("/admin/articles/article/add/", article_form(make_category(), title="央行\u2067降准\u2069"))
        assert Article.objects.get().title == "央行降准"

    def test_the_admin_says_which_fields_lost_them(self, client, db):
        client.force_login(make_editor())
        form = article_form(make_category(), title="央行\u202e降准", summary="摘\u200b要", tags="宏\x0b观，港股")

        response = client.post("/admin/articles/article/add/", form, follow=True)

        stored = Article.objects.get()
        assert (stored.title, stored.summary, set(stored.tags.names())) == ("央行降准", "摘要", {"宏观", "港股"})
        assert [str(message) for message in response.context["messages"] if message.level == messages.WARNING] == [
            "标题、摘要、标签中看不见的字符（控制字符、零宽空格、文字方向控制符等）保存时已去掉："
            "页面上看不出差别，搜索和链接以去掉后的文字为准。"
        ]

    def test_the_admin_says_nothing_of_text_without_them(self, client, db):
        client.force_login(make_editor())

        response = client.post("/admin/articles/article/add/", article_form(make_category()), follow=True)

        assert [message for message in response.context["messages"] if message.level == messages.WARNING] == []


class TestPublicationTimes:
    @pytest.mark.parametrize("moment", ["0001-01-01 00:00:00 +0800", "1899-12-31 23:00:00 +0800", "2101-01-01"])
    def test_the_import_refuses_a_date_outside_the_range_with_the_reason(self, write_post, moment):
        path = write_post("2022-01-07-OLD1.md", post_text(date=moment))

        succeeded, stdout, stderr = run_import(path)

        assert not succeeded and f"rejected {path}: date " in stderr
        assert "is outside 1990-01-01..2100-12-31 (Beijing time)" in stderr
        assert not Article.objects.exists()

    @pytest.mark.parametrize("year", [1, 1899, 1989, 2101, 9999])
    def test_the_write_path_refuses_one_with_a_chinese_message(self, year):
        article = make_article()
        article.published_at = dt.datetime(year, 6, 1, tzinfo=dt.UTC)
        with pytest.raises(ValidationError) as refused:
            publishing.save_article(article)
        assert refused.value.message_dict["published_at"] == ["发布时间须在 1990-01-01 到 2100-12-31（北京时间）之间。"]

    def test_the_admin_says_so_on_the_form(self, client, db):
        client.force_login(make_editor())
        data = article_form(make_category(), published_at_0="0001-01-01", published_at_1="00:00:00")
        response = client.post("/admin/articles/article/add/", data)
        assert response.status_code == 200
        assert "发布时间须在 1990-01-01 到 2100-12-31（北京时间）之间。" in response.content.decode()
        assert not Article.objects.exists()

    @pytest.mark.parametrize("moment", ["1990-01-01 00:00:00", "1990-07-01 12:00:00", "2022-05-31 16:00:00"])
    def test_times_are_shown_and_sent_as_plus_eight(self, client, write_post, tmp_path, moment):
        """Asia/Shanghai was +09:00 in the summers of 1986-1991 and LMT before 1901: Beijing time is +08:00."""
        run_import(write_post("2022-01-07-T1.md", post_text(date=moment)))
        article = Article.objects.get()
        iso = f"{moment.replace(' ', 'T')}+08:00"

        page = client.get(article.get_absolute_url()).content.decode()
        assert f'content="{iso}"' in page and f'"datePublished": "{iso}"' in page
        assert f"<published>{iso}</published>" in client.get("/feed.xml").content.decode()
        assert client.get("/api/v1/articles/").json()["items"][0]["published_at"] == iso
        from articles.intake.exporting import post_text as exported

        assert f"date: {moment} +0800" in exported(article)


class TestStoredTimesOutsideTheRange:
    """A time written around the one write path (SQL) takes no page down."""

    # The issue's value as an editor's form sent it before the validator, and a SQL write of
    # it: on PostgreSQL 1 BC in UTC, which psycopg cannot read (finews/database.py).
    SQL_WRITES = {"postgresql": "0001-01-01 00:00:00+08", "sqlite": "0001-01-01 00:00:00"}

    @pytest.mark.parametrize(
        "stored",
        [
            dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            dt.datetime(1899, 12, 31, 15, 0, tzinfo=dt.UTC),
            dt.datetime(9999, 12, 31, 20, 0, tzinfo=dt.UTC),
            "sql",
            "sql-with-offset",
        ],
        ids=["year-1", "1899", "year-9999", "sql-year-1-beijing", "sql-year-1-beijing-with-offset"],
    )
    def test_every_page_that_lists_it(self, client, stored, django_capture_on_commit_callbacks):
        category = make_category("cailianshe")
        with django_capture_on_commit_callbacks(execute=True):
            article = make_article(category=category, tags=["宏观"], title="降准消息")
            make_article(category=category, tags=["宏观"], title="其他消息")
        if stored in ("sql", "sql-with-offset"):
            # With its offset, as a DBA copies it from PostgreSQL: SQLite keeps the text as written.
            written = "0001-01-01T00:00:00+08:00" if stored == "sql-with-offset" else self.SQL_WRITES[connection.vendor]
            with connection.cursor() as cursor:
                cursor.execute("UPDATE articles_article SET published_at = %s WHERE id = %s", [written, article.pk])
        else:
            Article.objects.filter(pk=article.pk).update(published_at=stored)
        client.force_login(make_editor())
        tag = Tag.objects.get(name="宏观")
        urls = [
            "/",
            category.get_absolute_url(),
            f"{category.get_absolute_url()}feed/",
            tag.get_absolute_url(),
            f"{tag.get_absolute_url()}feed/",
            "/feed.xml",
            "/search/?q=降准",
            "/api/v1/articles/",
            "/api/v1/articles/?q=降准",
            "/sitemap.xml",
            "/archive/",
            f"/admin/articles/article/{article.pk}/change/",
            "/admin/articles/article/",
            f"/admin/articles/article/{article.pk}/history/",
        ]
        if Article.objects.get(pk=article.pk).published_at.year < 2100:  # public: its own page and API detail too
            urls += [article.get_absolute_url(), f"/api/v1/articles/{article.info_code}/"]
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert "+08:05" not in response.content.decode(), url

        # The editor can put it right.
        form = article_form(category, info_code=article.info_code, title="降准消息", status=Article.Status.PUBLISHED)
        response = client.post(f"/admin/articles/article/{article.pk}/change/", form)
        assert response.status_code == 302
        assert Article.objects.get(pk=article.pk).published_at.year == timezone.now().year


class TestStrayBytes:
    def test_a_stray_byte_in_utf8_is_kept_as_a_replacement_with_its_line_and_column(self, write_post):
        raw = (
            post_text(body="<p>公司股票停牌。</p>")
            .encode()
            .replace("停牌".encode(), "停".encode() + b"\x92" + "牌".encode())
        )
        path = write_post("2022-01-07-BYTE1.md", raw)

        succeeded, stdout, stderr = run_import(path)

        assert succeeded, stderr
        assert f"warning {path}: byte 0x92 at line 8, column 9 does not decode; kept as U+FFFD" in stderr
        assert Article.objects.get().body == "<p>公司股票停\ufffd牌。</p>"

    @pytest.mark.parametrize(
        "encoding, stray, where",
        [
            ("utf-8", b"\x80", "line 3, column 15"),
            ("utf-8", b"\xff", "line 3, column 15"),
            ("utf-8", b"\xe4\xb8", "line 3, column 15"),  # a character cut short
            ("gbk", b"\x80", "line 3, column 15"),
            ("gbk", b"\xff", "line 3, column 15"),
        ],
    )
    def test_the_kind_in_either_encoding_in_the_title(self, write_post, encoding, stray, where):
        raw = post_text(title='"人民币汇率XY"').encode(encoding).replace(b"XY", b"X" + stray + b"Y")
        path = write_post("2022-01-07-BYTE2.md", raw)

        succeeded, stdout, stderr = run_import(path)

        assert succeeded, stderr
        assert f"warning {path}: byte 0x{stray[0]:02X} at {where} does not decode; kept as U+FFFD" in stderr
        assert Article.objects.get().title == "人民币汇率X\ufffdY"

    @pytest.mark.parametrize("strays", [5, 10, 11])
    def test_a_short_post_with_stray_bytes_is_read_as_the_utf8_it_is(self, write_post, strays):
        """A flash item of one line, as the corpus has them (北向资金净流入超40亿元): GB18030 reads
        almost any bytes, and read it with fewer errors than UTF-8 once five stray bytes were in:
        every character of the post was stored as mojibake. Up to ten are kept as U+FFFD, more
        reject the file (README: Importing posts, Tolerant)."""
        line = "北向资金净流入超40亿元"
        text = post_text(title=f'"{line}"', body=f"{line}。")
        raw = text.encode().replace("超40亿元。".encode(), "超".encode() + b"\x92" * strays + "40亿元。".encode())
        path = write_post("2022-01-07-SHORT1.md", raw)

        succeeded, stdout, stderr = run_import(path)

        assert "decoded as GBK" not in stderr
        if strays <= 10:
            assert succeeded, stderr
            article = Article.objects.get()
            assert article.title == line and "超" + "\ufffd" * strays + "40亿元" in article.body
        else:
            assert not succeeded and not Article.objects.exists()
            assert f"rejected {path}: not text in UTF-8 or GBK encoding: more than 10 bytes do not decode" in stderr

    def test_a_file_that_is_no_text_is_rejected_naming_the_first_byte(self, write_post):
        path = write_post("2022-01-07-BYTE3.md", post_text().encode() + b"\n" + bytes(range(128, 256)) * 20)

        succeeded, stdout, stderr = run_import(path)

        assert not succeeded
        assert (
            f"rejected {path}: not text in UTF-8 or GBK encoding: more than 10 bytes do not decode, the first byte 0x80 at line 10, column 1"
            in stderr
        )


class TestOldAddresses:
    TWO_WORDS = "21shijijingjibaodao  nancailicaitong"

    def test_a_category_line_of_two_words(self, client, write_post):
        text = post_text(date="2022-05-31 10:00:00 +0800").replace(
            "categories: cailianshe", f"categories: {self.TWO_WORDS}"
        )
        run_import(write_post("2022-05-31-202205312398000001.md", text))
        article = Article.objects.get()

        # One category, named as the old site's category page was (/category/<name>.html).
        assert article.category.name == self.TWO_WORDS and list(article.tags.names()) == ["财联社新闻"]
        old = "/21shijijingjibaodao/nancailicaitong/2022/05/31/202205312398000001.html"
        response = client.get(old)
        assert response.status_code == 301 and response["Location"] == article.get_absolute_url()
        category_page = client.get(f"/category/{self.TWO_WORDS}.html")
        assert category_page.status_code == 301 and category_page["Location"] == article.category.get_absolute_url()

    @pytest.mark.parametrize("folders", ["cailianshe", "a/b", "a/b/c", "anxinguojizhengquan(xianggang)/x"])
    def test_any_number_of_category_folders(self, client, folders):
        article = make_article(info_code="NW202205310000000001")
        response = client.get(f"/{folders}/2022/05/31/NW202205310000000001.html")
        assert response.status_code == 301 and response["Location"] == article.get_absolute_url()
        assert client.get(f"/{folders}/2022/05/31/NW202205310000000002.html").status_code == 404


def round_trip_facts():
    articles = Article.objects.select_related("category").prefetch_related("tags")
    return {
        article.info_code: (
            article.title,
            plain_text(article.body, whitespace="lines"),
            article.summary,
            sorted(tag.name for tag in article.tags.all()),
            article.published_at,
            article.category.name,
            article.source_name,
            article.author_names,
            article.responsible_editor_id,
        )
        for article in articles
    }


def test_export_then_import_into_an_empty_database_keeps_what_people_wrote(corpus_dir, write_post, tmp_path):
    """The corpus, the issue's posts and one of each kind above: the same titles, bodies' text,
    summaries, tags, times, sources and bylines after export_posts and an import into an empty
    database (its users kept: the 责任编辑 is matched back to the user of that name)."""
    for name, text in ISSUE_POSTS.items():
        write_post(name, text)
    kinds = {
        "2022-05-31-NW202205310000000104.md": post_text(
            title='"苹果<AAPL.O>盘前涨2%，A股<B股溢价收窄"',
            body="> 美元指数<DXY>回落，*ST海航摘帽。\n\n**重要提示：**腾讯<0700.HK>涨3%，S*ST前锋复牌。",
        ),
        "2022-05-31-NW202205310000000105.md": post_text(
            title='"央行\u202e降准"', date="1990-07-01 12:00:00", body="<p>正文</p>\n"
        ).replace("tags: 财联社新闻", "tags: [宏观，A股, 港股、美股]"),
        "2022-05-31-NW202205310000000106.md": post_text(
            title='"署名的稿件"',
            extra="authors: [张三, 李四]\nresponsible_editor: 王五\nsource_name: 新华社\n",
        ),
    }
    make_editor("wangwu", last_name="王", first_name="五")
    for name, text in kinds.items():
        write_post(name, text)
    succeeded, stdout, stderr = run_import(corpus_dir)
    assert succeeded or "-202205262391921712.md" in stderr
    succeeded, stdout, stderr = run_import(write_post("x.txt", "").parent)
    assert succeeded, stderr
    before = round_trip_facts()
    assert before["NW202205310000000102"][1:3] == (
        "*ST海航和*ST天娱今日双双涨停，ST板块午后走强。",
        "*ST海航和*ST天娱今日双双涨停。",
    )
    assert before["NW202205310000000103"][3] == ["Federal Reserve", "财联社新闻"]
    assert before["NW202205310000000106"][-3:-1] == ("新华社", ["张三", "李四"])
    assert before["NW202205310000000106"][-1] is not None

    from articles.intake.exporting import export_posts

    export_posts(tmp_path / "export")
    Article.objects.all().delete()
    for model in (Category, Tag, StockReference):
        model.objects.all().delete()
    succeeded, stdout, stderr = run_import(tmp_path / "export")

    assert succeeded, stderr
    assert round_trip_facts() == before


def test_stored_titles_and_names_lose_their_invisible_characters_in_migration_0015(caplog):
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    migration = MigrationLoader(None).disk_migrations[("articles", "0015_publication_time_range")]
    module = __import__(type(migration).__module__, fromlist=["drop_format_characters"])
    assert module.FORMAT_CHARACTERS.pattern == FORMAT_CHARACTERS.pattern  # frozen as the rule is today
    article = make_article(title="央行降准", tags=["港股", "美股"])
    Article.objects.filter(pk=article.pk).update(title="央行\u202e降准", summary="摘\u2066要")
    Tag.objects.filter(name="美股").update(name="美\u200b股")
    Tag.objects.create(name="港\u200b股", slug="gang-gu-2")

    module.drop_format_characters(apps, None)

    stored = Article.objects.get(pk=article.pk)
    assert (stored.title, stored.summary) == ("央行降准", "摘要")
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["港\u200b股", "港股", "美股"]
    logged = caplog.text
    assert "0015: Tag" in logged and "left (taken)" in logged and "lost its invisible characters" in logged


def test_a_withdrawal_turns_every_feed_s_and_api_list_s_304_into_a_200(client, django_capture_on_commit_callbacks):
    """Beyond TestConditionalRequests' reads (tests/test_caching.py): the tag and stock feeds and the
    API's other lists answer If-Modified-Since and If-None-Match by the same rule."""
    from tests.factories import make_stock

    with django_capture_on_commit_callbacks(execute=True):
        stock = make_stock("600000", name="浦发银行")
        article = make_article(title="撤回的消息", tags=["宏观"], stocks=[stock])
        make_article(title="留下的消息", tags=["宏观"], stocks=[stock])
    tag = Tag.objects.get(name="宏观")
    urls = [
        f"{tag.get_absolute_url()}feed/",
        f"{stock.get_absolute_url()}feed/",
        "/api/v1/tags/",
        "/api/v1/stocks/",
        "/api/v1/categories/",
        f"/api/v1/articles/?tag={tag.slug}",
        f"/api/v1/articles/{article.info_code}/",
    ]
    seen = {url: client.get(url) for url in urls}
    for url, response in seen.items():
        assert response.status_code == 200, url
        assert client.get(url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"]).status_code == 304, url

    with django_capture_on_commit_callbacks(execute=True):
        publishing.set_status(Article.objects.filter(pk=article.pk), Article.Status.DRAFT)

    for url, response in seen.items():
        by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
        by_etag = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
        assert by_date.status_code == by_etag.status_code != 304, url


@pytest.mark.parametrize(
    ("reason", "chinese"),
    [
        (
            "not text in UTF-8 or GBK encoding: more than 10 bytes do not decode, the first byte 0x80 at line 10, column 1",
            "不是 UTF-8 或 GBK 编码的文本：超过 10 个字节无法解码，第一个是第 10 行第 1 列的字节 0x80",
        ),
        (
            "date 0001-01-01 00:00:00+08:00 is outside 1990-01-01..2100-12-31 (Beijing time), "
            "the publication times the site accepts",
            "日期 0001-01-01 00:00:00+08:00 不在本站接受的发布时间范围（北京时间 1990-01-01 到 2100-12-31）之内",
        ),
    ],
)
def test_the_new_reasons_read_in_chinese_in_the_import_record(reason, chinese):
    from articles.intake import reasons

    assert reasons.in_chinese(reason) == chinese


class TestNothingLeftOutUnsaid:
    """What the allow-list leaves out of a body, or a summary's text leaves of its markup, is said in
    Chinese where the person sees it: the admin's messages, 导入记录, a restore's messages."""

    # Schemes the allow-list accepts, addresses no URL parser reads: nh3 drops each, link text kept.
    BAD_ADDRESSES = ["http://exa mple.com", "https://[bad", "https://a b.example/x", "http://256.1.1.1/"]

    @staticmethod
    def _messages(response, level):
        return [str(message) for message in response.context["messages"] if message.level == level]

    @pytest.mark.parametrize("address", BAD_ADDRESSES)
    def test_an_unreadable_link_address_is_named_on_an_admin_save(self, client, address):
        client.force_login(make_editor())
        body = f'<p>据<a href="{address}">央行公告</a>，降准<img src="{address}/k.png" alt="图"></p>'

        response = client.post("/admin/articles/article/add/", article_form(make_category(), body=body), follow=True)

        stored = Article.objects.get().body
        assert '<p>据央行公告，降准<img alt="图" ' in stored
        assert "href" not in stored and "src" not in stored
        assert self._messages(response, messages.WARNING) == [
            f"正文中有本站不显示的 HTML，保存时已去掉：1 处 href 属性（链接地址：“{address}”）、"
            f"1 处 src 属性（图片地址：“{address}/k.png”）。请核对正文，需要的内容请用编辑器的工具栏补上。"
        ]

    def test_a_save_names_each_dropped_address_once(self, client):
        client.force_login(make_editor())
        body = (
            '<p><a href="javascript:alert(1)">点我</a><a href="tel:95588">客服</a><a href="tel:95588">电话</a>'
            '<a href="https://www.pbc.gov.cn/">央行</a></p>'
        )

        response = client.post("/admin/articles/article/add/", article_form(make_category(), body=body), follow=True)

        assert self._messages(response, messages.WARNING) == [
            "正文中有本站不显示的 HTML，保存时已去掉：3 处 href 属性（链接地址：“javascript:alert(1)”、“tel:95588”）。"
            "请核对正文，需要的内容请用编辑器的工具栏补上。"
        ]

    def test_a_long_dropped_address_is_named_by_its_beginning(self, client):
        client.force_login(make_editor())
        address = "tel:" + "9" * 300

        response = client.post(
            "/admin/articles/article/add/",
            article_form(make_category(), body=f'<p><a href="{address}">客服</a></p>'),
            follow=True,
        )

        (warning,) = self._messages(response, messages.WARNING)
        assert f"（链接地址：“{address[:59]}…”）" in warning and address not in warning

    @pytest.mark.parametrize("address", BAD_ADDRESSES)
    def test_an_unreadable_link_address_is_named_in_the_import_record(self, write_post, address):
        run_import(write_post("2022-01-07-LINK1.md", post_text(body=f'<p><a href="{address}">公告</a>原文</p>')))

        assert Article.objects.get().body == "<p>公告原文</p>"
        assert [reasons.in_chinese(problem.reason) for problem in ImportProblem.objects.all()] == [
            "正文中有本站不显示的 HTML，未导入：1 处 href 属性（链接地址）。请对照原稿核对正文，需要的内容请在后台补上"
        ]

    @pytest.mark.parametrize(
        "address", ["https://www.pbc.gov.cn/", "/news/NW1/", "//cdn.example/x", "http://例子.中国/", "mailto:a@b.cn"]
    )
    def test_an_address_the_allow_list_keeps_is_not_named(self, address):
        assert html_left_out_of(f'<p><a href="{address}">公告</a></p>') == (Counter(), Counter(), {})
        assert f'href="{address}"' in sanitize_html(f'<p><a href="{address}">公告</a></p>')

    @pytest.mark.parametrize(
        ("body", "cleaned"),
        [
            ('<p>拨打<a href="tel:95588">客服电话</a>咨询</p>', "<p>拨打客服电话咨询</p>"),
            ('<p><a href="javascript:alert(1)" title="点我"><strong>公告</strong>全文</a></p>', "<p><strong>公告</strong>全文</p>"),
            ('<p><a href="https://[bad"></a></p><p>正文</p>', "<p>正文</p>"),
            # As bodies were stored before: cleaned again (a restore, an editor's save), no <a> is left.
            ('<p><a rel="noopener noreferrer nofollow">公告</a></p>', "<p>公告</p>"),
            ('<p><a title="x&gt;y" href="https://www.pbc.gov.cn/">央行</a></p>',
             '<p><a title="x&gt;y" href="https://www.pbc.gov.cn/" rel="noopener noreferrer nofollow">央行</a></p>'),
            # HTML5 lets a link hold a table whose cell holds a link: each dropped by its own tags.
            ('<a href="tel:95588"><table><tr><td><a href="/news/NW1/">表内</a>客服</td></tr></table></a>',
             '<table><tbody><tr><td><a href="/news/NW1/" rel="noopener noreferrer nofollow">表内</a>客服</td></tr></tbody></table>'),
            ('<a href="/news/NW1/"><table><tr><td><a href="tel:95588">客服</a></td></tr></table></a>',
             '<a href="/news/NW1/" rel="noopener noreferrer nofollow"><table><tbody><tr><td>客服</td></tr></tbody></table></a>'),
        ],
    )  # fmt: skip
    def test_a_link_whose_address_is_dropped_keeps_its_text_without_an_anchor(self, body, cleaned):
        assert sanitize_html(body) == cleaned
        assert sanitize_html(str(sanitize_html(body))) == cleaned

    def test_restoring_a_version_whose_body_the_allow_list_now_changes_says_what_it_left_out(self, client):
        article = make_article(body="<p>原来的正文</p>")
        first = Version.objects.get_for_object(article).order_by("pk").first()
        # Stored when the allow-list kept more than it does now (an iframe, an address it now refuses).
        old_body = '<p>原来的正文<a href="http://exa mple.com">公告</a></p><iframe src="https://v.example/1"></iframe>'
        serialized = json.loads(first.serialized_data)
        serialized[0]["fields"]["body"] = old_body
        Version.objects.filter(pk=first.pk).update(serialized_data=json.dumps(serialized, ensure_ascii=False))
        changed = Article.objects.get(pk=article.pk)
        changed.body = "<p>改过的正文</p>"
        publishing.save_article(changed)
        client.force_login(make_editor())

        response = client.post(
            f"/admin/articles/article/{article.pk}/history/{first.pk}/", {"_save": "保存"}, follow=True
        )

        restored = Article.objects.get(pk=article.pk).body
        assert restored == "<p>原来的正文公告</p>"
        assert self._messages(response, messages.WARNING) == [
            "正文中有本站不显示的 HTML，保存时已去掉：1 个 <iframe>（内嵌网页）、1 处 href 属性（链接地址：“http://exa mple.com”）。"
            "请核对正文，需要的内容请用编辑器的工具栏补上。"
        ]

    def test_restoring_a_version_the_allow_list_keeps_whole_says_nothing_of_it(self):
        article = make_article(body='<p>原来的<a href="https://www.pbc.gov.cn/">正文</a></p>')
        first = Version.objects.get_for_object(article).order_by("pk").first()
        changed = Article.objects.get(pk=article.pk)
        changed.body = "<p>改过的正文</p>"
        publishing.save_article(changed)

        restored, warnings = publishing.restore_version(first)

        assert "pbc.gov.cn" in restored.body and warnings == []

    def test_a_digest_s_markup_flattened_into_the_summary_is_named_in_the_import_record(self, write_post):
        digest = "> **央行**宣布[降准](https://www.pbc.gov.cn/x)，释放`5300`亿元\n> ![走势](https://img.example/k.png)"
        run_import(write_post("2022-01-07-DIGEST1.md", post_text(body=f"{digest}\n\n<p>正文</p>")))

        assert Article.objects.get().summary == "央行宣布降准，释放5300亿元"
        assert [reasons.in_chinese(problem.reason) for problem in ImportProblem.objects.all()] == [
            "摘要只能是纯文字，其中的格式已去掉（文字保留）：1 个 <strong>（加粗）、1 个 <a>（链接）、"
            "1 个 <code>（代码）、1 个 <img>（图片）。链接的地址和图片没有保留，需要的请在后台补进正文"
        ]

    def test_no_digest_of_the_corpus_loses_markup(self, corpus_dir):
        for path in sorted((corpus_dir / "finews-posts").glob("*.md")):
            text, warnings = decode_post(path.read_bytes())
            clean_body(split_front_matter(text)[1], warnings)
            assert not [warning for warning in warnings if warning.startswith("summary:")], path.name


class TestTheSiteSOwnNews:
    """The old site's own news (``sitenews``, tagged 站长消息, no source) reads in Chinese."""

    def test_the_import_titles_it_and_the_pages_show_the_title(self, client):
        run_import(SAMPLE_POSTS / "2026-11-14-init.md")

        category = Category.objects.get(name="sitenews")
        assert category.display_name == "站长消息"
        for url in ("/category/", category.get_absolute_url(), Article.objects.get().get_absolute_url()):
            text = BeautifulSoup(client.get(url).content.decode(), "lxml").body.get_text()
            assert "站长消息" in text and "sitenews" not in text, url

    def test_migration_0020_titles_the_stored_one_and_keeps_an_editor_s_title(self):
        from django.apps import apps
        from django.db.migrations.loader import MigrationLoader

        migration = MigrationLoader(None).disk_migrations[("articles", "0020_sitenews_title")]
        module = __import__(type(migration).__module__, fromlist=["give_the_title"])
        assert (module.NAME, module.TITLE) in CATEGORY_TITLES.items()  # frozen as the import's is today
        Category.objects.create(name="sitenews", slug="sitenews")
        Category.objects.create(name="sitenews2", slug="sitenews2")

        module.give_the_title(apps, None)

        assert dict(Category.objects.values_list("name", "title")) == {"sitenews": "站长消息", "sitenews2": ""}
        Category.objects.filter(name="sitenews").update(title="本站公告")
        module.give_the_title(apps, None)
        assert Category.objects.get(name="sitenews").title == "本站公告"


def test_migration_0012_says_each_repair_where_whoever_runs_migrate_reads_it(tmp_path):
    """A RunPython has no command output to write to: its repairs are logged, and production's
    logging shows them in migrate's output with the time and level, whatever its --verbosity."""
    from tests.test_production import manage, production_environment

    environment = production_environment(tmp_path)
    for target in (["auth"], ["articles", "0011"]):  # the groups' migration needs auth's tables
        done = manage(environment, "migrate", *target, "--no-input")
        assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "production.sqlite3") as database:
        database.execute("INSERT INTO articles_tag (name, slug) VALUES ('宏观', '宏 观')")

    migrated = manage(environment, "migrate", "--no-input", "--verbosity", "0")

    assert migrated.returncode == 0, migrated.stderr
    assert "level=WARNING logger=articles.migrations.0012_url_constraints_retired_tags" in migrated.stdout
    assert "0012 repaired tag 1: slug: '宏 观' had no URL; now 'tag-1'" in migrated.stdout
