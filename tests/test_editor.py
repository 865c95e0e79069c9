"""What editors write is what is stored: tag text, unchanged saves, the body editor's elements, pastes, covers."""

import datetime as dt
import errno
import gettext
import io
import json
import random
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from reversion.models import Version

from articles.editor import HEADING_LEVELS, editor_allowlist
from articles.models import Article, Tag
from articles.roles import EDITOR_GROUP_NAME
from articles.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, HTML_ELEMENTS, html_left_out, sanitize_html
from articles.tagging import format_tags, parse_tags
from tests.conftest import run_import
from tests.factories import article_form, make_article, make_category

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = User.objects.create_user("xiaowang", password="a-long-passphrase-7", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITOR_GROUP_NAME))
    client.force_login(user)
    return user


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def change_form(client, article):
    """The change form's URL and the data a browser sends back when saving it untouched."""
    url = f"/admin/articles/article/{article.pk}/change/"
    page = BeautifulSoup(client.get(url).content.decode(), "lxml")
    form = page.select_one("form#article_form")
    data = {}
    for field in form.select("input[name], textarea[name], select[name]"):
        name = field["name"]
        if field.name == "textarea":
            data[name] = field.text
        elif field.name == "select":
            chosen = field.select("option[selected]")
            if field.has_attr("multiple"):
                data[name] = [option["value"] for option in chosen]
            else:
                data[name] = chosen[0]["value"] if chosen else ""
        elif field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data[name] = field.get("value", "on")
        elif field.get("type") not in ("file", "submit"):
            data[name] = field.get("value", "")
    data["_save"] = "保存"
    return url, data


POST = """---
layout: post
title: "美联储加息预期升温，港股承压"
date: 2022-05-31 11:00:00 +0800
categories: cailianshe
tags:
{tags}
---

美联储官员讲话后，市场加息预期升温。
"""

# Names the import can create (a YAML list keeps each item whole), by the characters that matter to tag text.
TAG_NAMES = [
    "Federal Reserve",  # an ASCII space
    "宏观，A股",  # a full-width comma
    "A 股",
    "港股、美股",  # the enumeration comma
    "Fed, ECB",  # an ASCII comma
    "利率；汇率",  # a full-width semicolon
    'say "hi"',  # ASCII quotes
    '"引号"开头',
    "“中国梦”",  # full-width quotes
    "中\u3000国",  # an ideographic space
    "S&P 500",
    "财联社新闻",
]


class TestTagText:
    @pytest.mark.parametrize("name", TAG_NAMES)
    def test_every_name_the_import_can_make_reads_back_as_itself(self, name):
        assert parse_tags(format_tags([Tag(name=name), Tag(name="宏观")])) == sorted([name, "宏观"])

    def test_the_whole_table_reads_back_at_once(self):
        assert parse_tags(format_tags([Tag(name=name) for name in TAG_NAMES])) == sorted(TAG_NAMES)

    @pytest.mark.parametrize(
        "typed, names",
        [
            ("宏观，A股、港股", ["宏观", "A股", "港股"]),
            ("宏观, A股；债市", ["宏观", "A股", "债市"]),
            ("Federal Reserve，S&P 500", ["Federal Reserve", "S&P 500"]),
            ("宏观\nA股", ["宏观", "A股"]),
            ('"Federal Reserve"，美股', ["Federal Reserve", "美股"]),
            ("“Federal Reserve”，美股", ["Federal Reserve", "美股"]),
            ('美股, "Federal Reserve"', ["美股", "Federal Reserve"]),
            ('宏观, "宏观，A股"', ["宏观", "宏观，A股"]),
            ("宏观，　“宏观，A股”", ["宏观", "宏观，A股"]),
            ('"说""好"""', ['说"好"']),
            ('"未闭合, 的引号', ["未闭合, 的引号"]),
            ("宏观，宏观、A股，a股", ["宏观", "A股"]),
        ],
    )
    def test_what_editors_type(self, typed, names):
        assert parse_tags(typed) == names

    def test_the_form_shows_names_as_they_read_back(self, client, editor, write_post):
        run_import(write_post("2022-05-31-NW1.md", POST.format(tags="  - Federal Reserve\n  - 宏观，A股")))
        url, _ = change_form(client, Article.objects.get())
        form = BeautifulSoup(client.get(url).content, "html.parser")
        assert form.find("input", {"name": "tags"})["value"] == 'Federal Reserve，"宏观，A股"'
        assert "空格属于标签本身" in form.get_text()

    def test_a_tag_too_long_is_said_beside_the_field_keeping_what_was_typed(self, client, editor):
        # The save refused it after the form was valid: a server error, and the typed article lost.
        typed = "宏观，" + "长" * 101
        response = client.post("/admin/articles/article/add/", article_form(make_category(), tags=typed))

        assert response.status_code == 200
        page = BeautifulSoup(response.content.decode(), "lxml")
        assert page.select_one(".field-tags .errorlist").get_text() == f"标签“{'长' * 20}…”太长了，最多 100 个字。"
        assert page.select_one("#id_tags")["value"] == typed
        assert not Article.objects.exists() and not Tag.objects.exists()


class TestUnchangedSave:
    def _imported(self, write_post, names):
        tags = "\n".join(f"  - '{name}'" for name in names)
        run_import(write_post("2022-05-31-NW1.md", POST.format(tags=tags)))
        return Article.objects.get()

    def test_a_tag_with_a_space_stays_one_tag_when_only_the_summary_changes(self, client, editor, write_post):
        article = self._imported(write_post, ["财联社新闻", "Federal Reserve"])
        url, data = change_form(client, article)
        data["summary"] = "编辑改写的摘要"

        response = client.post(url, data, follow=True)
        (said,) = [str(message) for message in response.context["messages"]]
        assert said.startswith("成功修改了 文章“") and article.title in said
        article.refresh_from_db()
        assert sorted(article.tags.names()) == ["Federal Reserve", "财联社新闻"]
        assert article.summary == "编辑改写的摘要" and article.edited_since_import

    def test_an_unchanged_save_changes_nothing(self, client, editor, write_post):
        article = self._imported(write_post, ["宏观，A股", "A 股", "港股、美股"])
        versions = Version.objects.get_for_object(article).count()
        url, data = change_form(client, article)

        response = client.post(url, data, follow=True)
        assert [str(message) for message in response.context["messages"]] == [
            f"“{article.title}”没有改动，未保存新版本。"
        ]
        stored = Article.objects.get()
        assert sorted(stored.tags.names()) == sorted(["宏观，A股", "A 股", "港股、美股"])
        assert Tag.objects.count() == 3
        assert not stored.edited_since_import and stored.updated_at == article.updated_at
        assert Version.objects.get_for_object(article).count() == versions

    def test_a_time_stored_finer_than_the_form_shows_stays_as_stored(self, client, editor):
        # 发布 takes the moment, to the microsecond; the form shows seconds, and an untouched form
        # sent back the time cut to its second: a new version, a new 修改时间, "成功修改了".
        published_at = timezone.now().replace(microsecond=123456) - dt.timedelta(hours=1)
        article = make_article(category=make_category(), published_at=published_at)
        versions = Version.objects.get_for_object(article).count()
        url, data = change_form(client, article)

        response = client.post(url, data, follow=True)
        assert [str(message) for message in response.context["messages"]] == [
            f"“{article.title}”没有改动，未保存新版本。"
        ]
        stored = Article.objects.get()
        assert stored.published_at == published_at and stored.updated_at == article.updated_at
        assert Version.objects.get_for_object(article).count() == versions

        client.post(url, {**data, "title": "改过的标题", "seen_updated_at": stored.updated_at.isoformat()})
        assert Article.objects.get().title == "改过的标题" and Article.objects.get().published_at == published_at

    def test_history_names_the_body_only_when_its_stored_text_changes(self, client, editor, write_post):
        # The editor sends a link's attributes in its own order: the same body once sanitized.
        post = POST.format(tags="  - 财联社新闻").replace(
            "市场加息预期升温。", "[美联储](https://www.federalreserve.gov/)讲话。"
        )
        run_import(write_post("2022-05-31-NW1.md", post))
        article = Article.objects.get()
        assert 'href="https://www.federalreserve.gov/" rel=' in article.body
        url, data = change_form(client, article)
        data["title"] = "美联储讲话"
        data["body"] = article.body.replace(
            '<a href="https://www.federalreserve.gov/" rel="noopener noreferrer nofollow">',
            '<a rel="noopener noreferrer nofollow" href="https://www.federalreserve.gov/">',
        )

        assert client.post(url, data).status_code == 302
        comment = Version.objects.get_for_object(article).first().revision.comment
        assert "标题" in comment and "正文" not in comment
        assert Article.objects.get().body == article.body

    @pytest.mark.parametrize("name", TAG_NAMES)
    def test_every_name_survives_an_unchanged_save(self, client, editor, write_post, name):
        quoted = name.replace("'", "''")
        article = self._imported(write_post, [quoted])
        imported = list(article.tags.names())  # as the import cleans it (an ideographic space is a space)
        assert len(imported) == 1
        url, data = change_form(client, article)

        assert client.post(url, data).status_code == 302
        assert list(Article.objects.get().tags.names()) == imported
        assert not Article.objects.get().edited_since_import


# Each element as the editor writes it, by tag. A tag the editor's configuration allows with no
# sample here fails TestEditorAndSanitizer: a new toolbar button needs its proof that the sanitizer keeps it.
EDITOR_SAMPLES = {
    "p": "<p>正文</p>",
    "strong": "<p><strong>重要提示：</strong>停牌</p>",
    "em": "<p><em>斜体</em></p>",
    "s": "<p><s>删除线</s></p>",
    "u": "<p><u>下划线</u></p>",
    "sub": "<p>H<sub>2</sub>O</p>",
    "sup": "<p>m<sup>2</sup></p>",
    "code": "<p><code>601318</code></p>",
    "pre": "<pre><code>代码块</code></pre>",
    "br": "<p>第一行<br>第二行</p>",
    "hr": "<p>上</p><hr><p>下</p>",
    "blockquote": "<blockquote><p>引用</p></blockquote>",
    "ul": "<ul><li><p>无序</p></li></ul>",
    "ol": '<ol start="3"><li><p>有序</p></li></ol>',
    "li": "<ul><li><p>一</p><ul><li><p>二</p></li></ul></li></ul>",
    "a": '<p><a href="https://www.cninfo.com.cn/" title="公告">巨潮资讯网</a></p>',
    "table": '<table><tbody><tr><th colspan="1" rowspan="1"><p>指标</p></th></tr></tbody></table>',
    "thead": "<table><thead><tr><th><p>指标</p></th></tr></thead></table>",
    "tbody": '<table><tbody><tr><td colspan="2" rowspan="1"><p>值</p></td></tr></tbody></table>',
    "tr": "<table><tbody><tr><td><p>一</p></td><td><p>二</p></td></tr></tbody></table>",
    "th": '<table><tbody><tr><th colspan="2" rowspan="2"><p>表头</p></th></tr></tbody></table>',
    "td": '<table><tbody><tr><td colspan="1" rowspan="3"><p>单元格</p></td></tr></tbody></table>',
    "figure": '<figure><img src="https://example.com/k.png" alt="K线" width="600" height="400"><figcaption>走势</figcaption></figure>',
    "figcaption": '<figure><img src="https://example.com/k.png" alt=""><figcaption>说明</figcaption></figure>',
    "img": '<figure><img src="https://example.com/k.png" alt="图" width="10" height="20"></figure>',
    **{f"h{level}": f"<h{level}>标题</h{level}>" for level in HEADING_LEVELS},
}
# Attributes the editor's configuration names that the sanitizer sets or drops by design.
EDITOR_ONLY_ATTRIBUTES = {
    "a": {"rel"},  # the sanitizer sets its own rel on every link
    "img": {"data-file"},  # the upload field's bookkeeping: no uploads in the body editor
    "ol": {"type", "data-type"},  # list types: not offered (enableListAttributes is off)
    "figure": {"class"},  # always "figure", nothing an editor chooses
}
# What the sanitizer adds to what the editor writes.
SANITIZER_SETS = re.compile(r' rel="noopener noreferrer nofollow"| loading="lazy"| decoding="async"')


class TestEditorAndSanitizer:
    """What the editor offers, the sanitizer keeps, and the reverse (articles/editor.py)."""

    @pytest.mark.parametrize("tag", sorted(editor_allowlist()["tags"]))
    def test_every_element_the_toolbar_can_make_is_kept_as_written(self, tag):
        assert tag in EDITOR_SAMPLES, f"the editor can write <{tag}>: add how it writes it to EDITOR_SAMPLES"
        sample = EDITOR_SAMPLES[tag]
        assert SANITIZER_SETS.sub("", sanitize_html(sample)) == sample
        assert f"<{tag}" in sanitize_html(sample)

    def test_every_attribute_the_editor_writes_is_kept(self):
        for tag, names in editor_allowlist()["attributes"].items():
            assert names - EDITOR_ONLY_ATTRIBUTES.get(tag, set()) <= ALLOWED_ATTRIBUTES.get(tag, set()), tag

    def test_the_sanitizer_keeps_nothing_the_editor_cannot_write(self):
        allowed = editor_allowlist()
        assert allowed["tags"] >= ALLOWED_TAGS
        for tag, names in ALLOWED_ATTRIBUTES.items():
            assert names <= allowed["attributes"].get(tag, set()), tag

    def test_links_offer_no_new_window_and_the_sanitizer_keeps_no_target(self):
        assert "target" not in editor_allowlist()["attributes"]["a"]
        assert "target" not in sanitize_html('<p><a href="https://x.cn/" target="_blank">链接</a></p>')

    def test_the_form_uses_the_configuration(self, client, editor):
        page = client.get("/admin/articles/article/add/").content.decode()
        textarea = BeautifulSoup(page, "lxml").select_one("textarea[name=body]")
        config = json.loads(textarea["data-django-prose-editor-configurable"])
        assert config["extensions"]["Heading"] == {"levels": HEADING_LEVELS}
        assert {"Table", "History", "ChineseLabels", "OfficePaste"} <= config["extensions"].keys()
        assert config["extensions"]["Link"]["enableTarget"] is False
        assert "/static/js/body-editor.js" in config["js_modules"][0]

    @pytest.mark.parametrize(
        "written, kept",
        [
            ("<h1>标题</h1><p>正文</p>", "<h2>标题</h2><p>正文</p>"),
            (
                "<p><b>粗</b><i>斜</i><del>删</del><strike>删</strike></p>",
                "<p><strong>粗</strong><em>斜</em><s>删</s><s>删</s></p>",
            ),
            ("<p><abbr title='Price'>PE</abbr></p>", "<p>PE</p>"),
            (
                "<table><caption>说明</caption><tbody><tr><td>1</td></tr></tbody><tfoot><tr><td>合计</td></tr></tfoot></table>",
                "<p>说明</p><table><tbody><tr><td>1</td></tr></tbody><tbody><tr><td>合计</td></tr></tbody></table>",
            ),
        ],
    )
    def test_equivalent_forms_become_the_editor_s(self, written, kept):
        assert sanitize_html(written) == kept


class TestWhatTheAllowListLeavesOut:
    """sanitize.html_left_out, which the import's warnings name, agrees with what sanitize_html does."""

    @staticmethod
    def left_out(fragment):
        return html_left_out(BeautifulSoup(f"<body>{fragment}</body>", "lxml").body)[:2]

    # Not elements a body can hold in place: the parser moves or ignores them.
    @pytest.mark.parametrize("name", sorted(HTML_ELEMENTS - {"html", "head", "body", "frameset", "plaintext"}))
    def test_an_element_not_named_keeps_its_text(self, name):
        fragment = f"<p>前<{name}>文字</{name}>后</p>"
        elements, _ = self.left_out(fragment)
        kept = sanitize_html(fragment)
        if name not in elements:
            assert "文字" in kept, f"<{name}> loses its text without a warning"
        if name in ALLOWED_TAGS:
            assert not elements

    @pytest.mark.parametrize(
        "fragment, elements, attributes",
        [
            ('<p onclick="x()" class="k" style="color:red" id="p1">文</p>', {}, {"onclick": 1}),
            ('<span onmouseover="x()" title="提示">文</span><p title="提示" lang="en">文</p>', {}, {"onmouseover": 1, "title": 1}),
            ('<div><p>文</p><script>x()</script><script>y()</script></div>', {"script": 2}, {}),
            ('<iframe src="https://v.example/1" onload="x()">视频</iframe>', {"iframe": 1}, {}),
            ('<form><p onclick="x()">文</p><input value="v"></form>', {"form": 1, "input": 1}, {"onclick": 1}),
            ('<template><iframe></iframe></template>', {"template": 1}, {}),
            ('<ol type="i" start="3" reversed><li value="9">项</li></ol>', {}, {"type": 1, "reversed": 1, "value": 1}),
            ('<p><b>粗</b><h1>题</h1><o:p></o:p><font color="red">红</font><center>中</center></p>', {}, {}),
        ],
    )  # fmt: skip
    def test_named_and_counted(self, fragment, elements, attributes):
        assert self.left_out(fragment) == (elements, attributes)

    @pytest.mark.parametrize(
        "address",
        [
            "https://x.cn/a", "http:/x", "//x.cn/a", "/a", "#b", "?q", "MAILTO:a@b.cn", "HTTP://X.CN", "1a:b",
            "javascript:alert(1)", " JavaScript:x", "java\tscript:x", "\x01javascript:x", "data:image/png;base64,AA",
            "vbscript:x", "ftp://x.cn/", "tel:123", "x:y",
            # Schemes it accepts, addresses no URL parser reads: dropped as silently before.
            "http://exa mple.com", "https://[bad", "https://a b.cn/x", "http://256.1.1.1/", "http://", "https://x..cn%",
        ],
    )  # fmt: skip
    def test_an_address_is_counted_when_the_allow_list_refuses_it(self, address):
        fragment = f'<p><a href="{address}">链</a><img src="{address}"></p>'
        kept = sanitize_html(fragment)
        assert ("href=" in kept) == ("src=" in kept)
        assert self.left_out(fragment) == ({}, {} if "href=" in kept else {"href": 1, "src": 1})


PASTES = Path(__file__).resolve().parent / "pastes"


def structure(fragment):
    soup = BeautifulSoup(fragment, "lxml")
    return soup, soup.get_text()


class TestPastes:
    """Word, WPS, Google Docs and web pages' clipboard HTML (tests/pastes/, written for these tests)."""

    @pytest.mark.parametrize("name", ["word.html", "wps.html", "google-docs.html", "web.html"])
    def test_styles_classes_and_office_markup_are_dropped(self, name):
        kept = sanitize_html((PASTES / name).read_text(encoding="utf-8"))
        for needle in ("style=", "class=", "<span", "<font", "o:p", "mso-", "<div", "<meta", "font-family", "<!"):
            assert needle not in kept, needle

    def test_word_keeps_headings_lists_tables_bold_and_links(self):
        soup, text = structure(sanitize_html((PASTES / "word.html").read_text(encoding="utf-8")))
        assert [h.get_text() for h in soup.select("h2")] == ["2022年一季度业绩快报", "主要财务数据"]
        assert soup.select_one("strong").get_text() == "重要提示："
        top = soup.select("body > ol > li")
        assert [li.p.get_text() for li in top] == ["营业收入同比增长12.5%", "归母净利润同比下降3.1%"]
        assert top[0].select_one("ol > li").get_text() == "其中主营业务收入增长9%"
        assert soup.select_one("ul > li").get_text() == "行业竞争加剧的风险"
        assert [td.get_text(strip=True) for td in soup.select("table td")] == [
            "指标",
            "本期",
            "营业收入（亿元）",
            "128.6",
        ]
        assert soup.select_one("a")["href"] == "http://www.cninfo.com.cn/new/index"
        assert "1." not in text and "a." not in text and "\u00a0" not in text

    def test_wps_keeps_headings_lists_tables_bold_and_links(self):
        soup, text = structure(sanitize_html((PASTES / "wps.html").read_text(encoding="utf-8")))
        assert soup.select_one("h2").get_text() == "券商晨会纪要"
        assert [li.get_text() for li in soup.select("ol > li")] == ["央行开展逆回购操作", "北向资金净流入58亿元"]
        assert soup.select_one("ol strong").get_text() == "北向资金"
        assert soup.select_one("ul > li").get_text() == "注意汇率波动风险"
        assert len(soup.select("table tr")) == 2 and soup.select_one("a")["href"] == "https://www.chinaclear.cn/"
        assert "Ø" not in text and "1." not in text

    def test_google_docs_bold_is_bold_and_its_wrapper_is_not(self):
        soup, _ = structure(sanitize_html((PASTES / "google-docs.html").read_text(encoding="utf-8")))
        assert [strong.get_text() for strong in soup.select("strong")] == ["沪指收涨0.8%"]
        assert soup.select_one("em").get_text() == "，成交额萎缩"
        assert soup.select_one("ol > li").get_text() == "券商板块领涨"

    def test_web_page_keeps_structure(self):
        soup, _ = structure(sanitize_html((PASTES / "web.html").read_text(encoding="utf-8")))
        assert soup.select_one("h2").get_text() == "沪深两市成交额连续五日破万亿"
        assert len(soup.select("ul > li")) == 2 and len(soup.select("table th")) == 2
        assert "target" not in str(soup.select_one("a"))

    @pytest.mark.parametrize(
        "paragraphs, lists",
        [
            ("<p class=MsoListParagraph>1.&nbsp;&nbsp;一</p><p class=MsoListParagraph>2.&nbsp;&nbsp;二</p>", "ol"),
            ("<p class=MsoListParagraph>一、&nbsp;甲</p><p class=MsoListParagraph>二、&nbsp;乙</p>", "ol"),
            ("<p class=MsoListParagraph>（1）&nbsp;甲</p><p class=MsoListParagraph>（2）&nbsp;乙</p>", "ol"),
            ("<p class=MsoListParagraph>·&nbsp;&nbsp;甲</p><p class=MsoListParagraph>·&nbsp;&nbsp;乙</p>", "ul"),
            (
                "<p style='mso-list:l0 level1 lfo1'>\uf0b7&nbsp;甲</p><p style='mso-list:l0 level1 lfo1'>\uf0b7&nbsp;乙</p>",
                "ul",
            ),
        ],
    )
    def test_every_kind_of_typed_marker_is_a_list(self, paragraphs, lists):
        soup, text = structure(sanitize_html(paragraphs))
        assert len(soup.select(f"body > {lists}")) == 1 and len(soup.select(f"{lists} > li")) == 2
        assert text in ("一二", "甲乙")

    def test_tickers_in_a_pasted_list_stay_text(self):
        kept = sanitize_html("<p class=MsoListParagraph>1.&nbsp;&nbsp;<b>苹果<AAPL.O></b>盘前涨2%，A股<B股</p>")
        assert kept == "<ol><li><p><strong>苹果&lt;AAPL.O&gt;</strong>盘前涨2%，A股&lt;B股</p></li></ol>"

    def test_paragraphs_between_lists_start_a_new_list(self):
        soup, _ = structure(
            sanitize_html("<p class=MsoListParagraph>1.&nbsp;一</p><p>中间</p><p class=MsoListParagraph>1.&nbsp;二</p>")
        )
        assert len(soup.select("ol")) == 2 and soup.select("body > p")[0].get_text() == "中间"


class BrokenStorage(FileSystemStorage):
    """A media folder that fails: "full" writes half of a file, then runs out of space; "read-only"
    refuses to create one; "thumbnail" stores the cover and then runs out of space; "list cover"
    stores the cover and its thumbnail, then runs out of space on the lists' rendition."""

    failure = "full"

    def _save(self, name, content):
        if self.failure == "read-only":
            raise OSError(errno.EROFS, "Read-only file system", name)
        if self.failure == "thumbnail" and "thumbnails" not in name:
            return super()._save(name, content)
        if self.failure == "list cover" and "-192x128" not in name:
            return super()._save(name, content)
        half = ContentFile(content.read()[: max(content.size // 2, 1)])
        super()._save(name, half)
        raise OSError(errno.ENOSPC, "No space left on device", name)


def png_upload(name="cover.png"):
    output = io.BytesIO()
    Image.new("RGB", (800, 600), "red").save(output, format="PNG")
    return SimpleUploadedFile(name, output.getvalue(), content_type="image/png")


def stored_files(settings):
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture(params=["full", "read-only", "thumbnail", "list cover"])
def broken_media(request, settings, monkeypatch):
    monkeypatch.setattr(BrokenStorage, "failure", request.param)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.test_editor.BrokenStorage"}}
    return request.param


class TestCoverThatCannotBeStored:
    def test_a_new_article_keeps_what_was_typed_and_leaves_no_file(self, client, editor, settings, broken_media):
        category = make_category()
        response = client.post(
            "/admin/articles/article/add/",
            article_form(category, title="封面存不下的文章", body="<p>编辑写的正文</p>", cover_image=png_upload()),
        )

        assert response.status_code == 200
        error = response.context["adminform"].form.errors["cover_image"][0]
        assert "封面图片无法保存" in error and "您填写的其他内容都还在" in error
        page = response.content.decode()
        assert "封面存不下的文章" in page and "编辑写的正文" in page
        assert not Article.objects.exists()
        assert stored_files(settings) == []

    def test_an_existing_article_keeps_its_edits_on_the_form_and_its_old_state_stored(
        self, client, editor, settings, write_post, broken_media
    ):
        article = TestUnchangedSave()._imported(write_post, ["财联社新闻"])
        url, data = change_form(client, article)
        data.update(summary="编辑改写的摘要", cover_image=png_upload())

        response = client.post(url, data)
        assert response.status_code == 200 and "编辑改写的摘要" in response.content.decode()
        assert "封面图片无法保存" in response.context["adminform"].form.errors["cover_image"][0]
        stored = Article.objects.get()
        assert stored.summary != "编辑改写的摘要" and not stored.cover_image and not stored.edited_since_import
        assert stored_files(settings) == []

    def test_the_reason_is_named(self, client, editor, settings, broken_media):
        response = client.post("/admin/articles/article/add/", article_form(make_category(), cover_image=png_upload()))
        error = response.context["adminform"].form.errors["cover_image"][0]
        assert ("媒体文件夹无法写入" if broken_media == "read-only" else "存储空间已满") in error


def test_the_compiled_dialog_labels_match_their_source():
    """locale/…/djangojs.mo is compiled from djangojs.po (msgfmt): a label changed in one only fails here."""
    folder = Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES"
    source = (folder / "djangojs.po").read_text(encoding="utf-8")
    pairs = dict(re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', source, re.MULTILINE))
    with (folder / "djangojs.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    assert pairs and {msgid: catalog.gettext(msgid) for msgid in pairs} == pairs
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in pairs.values())


OFFICE_PIECES = [
    "<b>", "</b>", "<i>", "<h1>", "</h1>", "<p class=MsoListParagraph>", "<p style='mso-list:l0 level2 lfo1'>",
    "1.&nbsp;", "·&nbsp;", "</p>", "<span style='mso-list:Ignore'>", "</span>", "<table>", "<caption>",
    "</caption>", "<tfoot>", "<tr>", "<td>", "正文", "<!--[if !supportLists]-->", "<![if !supportLists]>",
    "<![endif]>", "<span style='font-weight:700;font-style:italic'>", "<ul>", "<li>", "<o:p>", "</o:p>",
    "&nbsp;", "<br>", "<b style='font-weight:normal'>",
]  # fmt: skip


def test_any_mix_of_office_markup_is_cleaned_once_and_for_all():
    """Broken pastes (random runs of Word's pieces) never fail, and what is kept is kept as it is."""
    generator = random.Random(23)
    for _ in range(1500):
        pieces = [generator.choice(OFFICE_PIECES) for _ in range(generator.randint(1, 25))]
        fragment = "<p class=MsoListParagraph>1.&nbsp;" + "".join(pieces)
        kept = sanitize_html(fragment)
        assert sanitize_html(kept) == kept, fragment
