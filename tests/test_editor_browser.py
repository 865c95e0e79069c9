"""The body editor in a real browser (Debian's Chromium, as tests/test_browser.py): its toolbar,
its labels, pastes from Word and WPS, and a save that changes nothing."""

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group, User

from articles.models import Article
from articles.roles import EDITOR_GROUP_NAME
from articles.sanitize import address_is_kept, sanitize_html
from tests.conftest import run_import
from tests.test_browser import browser, expect, page, screenshot  # noqa: F401 (browser and page are fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(tab, live_server):
    editor = User.objects.create_user("xiaowang", password="a-long-passphrase-7", is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITOR_GROUP_NAME))
    tab.goto(f"{live_server.url}/admin/login/")
    tab.fill("#id_username", "xiaowang")
    tab.fill("#id_password", "a-long-passphrase-7")
    tab.click("input[type=submit]")
    expect(tab.locator("#site-name")).to_have_text("金融消息 · 编辑后台")


def open_editor(tab, live_server, article):
    errors = []
    tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    expect(tab.locator(".prose-menubar")).to_have_count(1)
    return errors


ENGLISH = re.compile(r"[A-Za-z]{2,}")
PASTES = Path(__file__).resolve().parent / "pastes"
POST = """---
layout: post
title: "编辑器测试"
date: 2022-05-31 11:00:00 +0800
categories: cailianshe
tags: 财联社新闻
---

{body}
"""


def imported_article(write_post, body="<p>美联储官员讲话后，市场加息预期升温。</p>"):
    run_import(write_post("2022-05-31-NW1.md", POST.format(body=body)))
    return Article.objects.get()


def menu_labels(tab):
    return tab.evaluate(
        """[...document.querySelectorAll('.prose-menubar [title], .prose-menubar__option')]
        .map(element => element.title || element.textContent)"""
    )


def test_every_label_of_the_editor_is_chinese(page, live_server, write_post):  # noqa: F811
    article = imported_article(write_post)
    log_in(page, live_server)
    errors = open_editor(page, live_server, article)

    labels = menu_labels(page)
    assert "粗体" in labels and "二级标题" in labels and "插入表格" in labels and "撤销" in labels
    assert [label for label in labels if ENGLISH.search(label)] == []
    # No Heading 1 (the sanitizer keeps h2 to h6) and the arrow is drawn, not a glyph the fonts lack.
    assert "一级标题" not in labels and page.locator(".prose-menubar__option h1").count() == 0
    arrow = page.evaluate("getComputedStyle(document.querySelector('.prose-menubar__selected'), '::after').content")
    assert "⏷" not in arrow

    page.locator(".ProseMirror[contenteditable=true] p").first.click(click_count=3)
    page.locator(".prose-menubar [title=插入链接]").click()
    dialog = page.locator("dialog.prose-editor-dialog")
    expect(dialog).to_be_visible()
    texts = dialog.locator("h3, label, button").all_inner_texts()
    assert texts == ["编辑链接", "链接地址", "标题", "确定", "取消"]
    assert dialog.locator("input[type=checkbox]").count() == 0  # no "open in new window"
    screenshot(page, "editor-link-dialog")
    dialog.locator("button", has_text="取消").click()

    page.locator(".prose-menubar [title=插入表格]").click()
    table_dialog = page.locator("dialog.prose-editor-dialog")
    texts = " ".join(table_dialog.locator("h3, label, button, option").all_inner_texts())
    assert not ENGLISH.search(texts), texts
    assert errors == []


def settle_caret(tab, where):
    """Wait until the caret is where the JavaScript condition `where` (over `node`, the element
    holding the caret) says, and ProseMirror has read it: it reads the caret on the browser's
    selectionchange, a moment after it moves, and keys sent before that land where it was."""
    tab.wait_for_function(
        f"""() => {{
            const anchor = getSelection().anchorNode
            const node = anchor && (anchor.nodeType === Node.ELEMENT_NODE ? anchor : anchor.parentElement)
            return Boolean(node) && document.activeElement.matches('.ProseMirror') && ({where})
        }}"""
    )
    tab.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def test_the_toolbar_makes_what_the_page_shows(page, live_server, write_post):  # noqa: F811
    article = imported_article(write_post, body="<p>第一段</p>")
    log_in(page, live_server)
    open_editor(page, live_server, article)
    editable = page.locator(".ProseMirror[contenteditable=true]")

    # Each step waits for the one before to show: keys sent before the editor has the caret
    # land at the start of the document (a loaded CI machine made the heading of "第一段").
    editable.locator("p").first.click()
    expect(editable).to_be_focused()
    page.keyboard.press("End")
    # An Enter sent before ProseMirror read the End split 第一段 at its start (every PostgreSQL run here).
    settle_caret(page, "getSelection().anchorOffset === getSelection().anchorNode.length")
    page.keyboard.press("Enter")
    page.keyboard.type("小标题")
    expect(editable.locator("p")).to_have_text(["第一段", "小标题"])
    page.locator(".prose-menubar__selected").click()
    page.locator(".prose-menubar__option", has_text="三级标题").click()
    expect(editable.locator("h3")).to_have_text("小标题")
    page.keyboard.press("Enter")
    page.locator(".prose-menubar [title=粗体]").click()
    page.keyboard.type("加粗")
    page.locator(".prose-menubar [title=粗体]").click()
    page.locator(".prose-menubar [title=斜体]").click()
    page.keyboard.type("斜体")
    page.locator(".prose-menubar [title=斜体]").click()
    expect(editable.locator("strong")).to_have_text("加粗")
    expect(editable.locator("em")).to_have_text("斜体")
    page.keyboard.press("Enter")
    page.locator(".prose-menubar [title=有序列表]").click()
    page.keyboard.type("列表项")
    expect(editable.locator("ol li")).to_have_text("列表项")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.locator(".prose-menubar [title=引用]").click()
    page.keyboard.type("引用文字")
    expect(editable.locator("blockquote")).to_have_text("引用文字")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.locator(".prose-menubar [title=分隔线]").click()
    expect(editable.locator("hr")).to_have_count(1)
    page.locator(".prose-menubar [title=插入表格]").click()
    table_dialog = page.locator("dialog.prose-editor-dialog")
    table_dialog.locator("select").select_option("Yes")
    table_dialog.locator("button", has_text="插入表格").click()
    # The dialog hands the focus back as it closes: 表 typed before that was lost (a CI run).
    settle_caret(page, "node.closest('th') !== null")
    page.keyboard.type("表头")
    expect(editable.locator("th").first).to_have_text("表头")
    page.wait_for_timeout(800)  # the editor's history joins what is typed within 500 ms into one step
    page.keyboard.type("多余")
    expect(editable.locator("th").first).to_have_text("表头多余")
    page.locator(".prose-menubar [title=撤销]").click()
    expect(editable.locator("th").first).to_have_text("表头")
    page.locator(".prose-menubar [title=重做]").click()
    expect(editable.locator("th").first).to_have_text("表头多余")
    page.locator(".prose-menubar [title=撤销]").click()
    expect(editable.locator("th").first).to_have_text("表头")
    # Selected by keys: a triple click's three clicks, slowed by a loaded machine, can come apart.
    editable.locator("p", has_text="第一段").click()
    page.keyboard.press("Home")
    page.keyboard.press("Shift+End")
    page.locator(".prose-menubar [title=插入链接]").click()
    dialog = page.locator("dialog.prose-editor-dialog")
    dialog.locator("input[name=href]").fill("https://www.cninfo.com.cn/")
    dialog.locator("button", has_text="确定").click()
    screenshot(page, "editor-toolbar")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")

    body = Article.objects.get().body
    soup = BeautifulSoup(body, "lxml")
    assert soup.select_one("h3").get_text() == "小标题"
    assert soup.select_one("strong").get_text() == "加粗" and soup.select_one("em").get_text() == "斜体"
    assert soup.select_one("ol li").get_text() == "列表项"
    assert soup.select_one("blockquote").get_text() == "引用文字"
    link = soup.select_one("a")
    assert link.get_text() == "第一段" and link["href"] == "https://www.cninfo.com.cn/" and "target" not in link.attrs
    assert soup.select_one("hr") is not None
    assert soup.select_one("table th").get_text() == "表头"  # "多余" was undone
    assert "多余" not in body

    # Saved as the editor wrote it: opened again and saved untouched, nothing changes.
    saved = Article.objects.get()
    open_editor(page, live_server, saved)
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")
    assert Article.objects.get().body == body and Article.objects.get().updated_at == saved.updated_at


def paste(tab, html, click=True):
    if click:
        tab.locator(".ProseMirror[contenteditable=true]").click()
    tab.evaluate(
        """html => {
            const data = new DataTransfer()
            data.setData("text/html", html)
            data.setData("text/plain", "")
            const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true})
            document.querySelector(".ProseMirror[contenteditable=true]").dispatchEvent(event)
        }""",
        html,
    )


def test_a_paste_says_what_the_editor_left_out(page, live_server, write_post):  # noqa: F811
    # The schema dropped a screenshot's data: image and the link around a picture, saying nothing:
    # the server, which never saw them, had nothing to warn of.
    article = imported_article(write_post, body="<p>原文</p>")
    log_in(page, live_server)
    errors = open_editor(page, live_server, article)
    alert = page.locator(".prose-editor [role=alert]")
    paste(
        page,
        '<p>走势：<a href="https://www.sse.com.cn/"><img src="/k.png" alt="K线"></a></p>'
        '<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="截图"></p>',
    )
    expect(alert).to_have_text(
        "以下内容编辑器不支持，已去掉：1 处 href 属性（链接地址：“https://www.sse.com.cn/”）、"
        "1 处 src 属性（图片地址：“data:image/png;base64,iVBORw0KGgo=”）"
    )

    # What only styled the text, or what the editor writes its own way, is no loss.
    for name in ("word.html", "wps.html", "google-docs.html", "web.html"):
        paste(page, (PASTES / name).read_text(encoding="utf-8"))
        expect(alert).to_have_count(0)
    assert [error for error in errors if "Failed to load resource" not in error] == []


@pytest.mark.parametrize("over_everything", [False, True])
def test_a_pasted_quote_around_a_list_keeps_its_quote(page, live_server, write_post, over_everything):  # noqa: F811
    """Into an emptied body, or over all of it (全选): the list alone was kept, its quote gone."""
    article = imported_article(write_post, body="<p>原文</p><p>第二段</p>")
    log_in(page, live_server)
    open_editor(page, live_server, article)
    editable = page.locator(".ProseMirror[contenteditable=true]")
    editable.locator("p").first.click()
    page.keyboard.press("Control+A")
    if not over_everything:
        page.keyboard.press("Delete")
    paste(page, "<blockquote><ul><li>一</li><li>二</li></ul></blockquote>", click=False)
    expect(editable.locator("blockquote > ul > li")).to_have_count(2)
    # Within a paragraph, pasted text still joins it (the slice is opened there as before).
    editable.locator("li").last.click()
    page.keyboard.press("End")
    paste(page, "<p>补充</p>", click=False)
    expect(editable.locator("li").last).to_have_text("二补充")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")

    assert Article.objects.get().body == "<blockquote><ul><li><p>一</p></li><li><p>二补充</p></li></ul></blockquote>"


@pytest.mark.parametrize("name", ["word.html", "wps.html"])
def test_a_paste_from_word_or_wps_keeps_its_lists_and_tables(page, live_server, write_post, name):  # noqa: F811
    article = imported_article(write_post, body="<p>原文</p>")
    log_in(page, live_server)
    open_editor(page, live_server, article)
    page.locator(".ProseMirror[contenteditable=true] p").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    paste(page, (PASTES / name).read_text(encoding="utf-8"))
    screenshot(page, f"editor-paste-{name}")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")

    soup = BeautifulSoup(Article.objects.get().body, "lxml")
    items = [li.p.get_text() for li in soup.select("body > ol > li")]
    assert items and not any(re.match(r"\d\.", item) for item in items)
    assert soup.select("ul > li") and soup.select("table td") and soup.select("strong") and soup.select("a[href]")
    assert soup.select("h2")
    for needle in ("style=", "class=", "<span", "mso"):
        assert needle not in str(soup), needle


def test_an_imported_article_saved_untouched_in_the_browser_is_not_changed(page, live_server, write_post):  # noqa: F811
    body = (
        "## 小标题\n\n**重要提示：**公司股票自6月1日起停牌。\n\n- 一\n- 二\n\n| 指标 | 本期 |\n| --- | --- |\n| 营收 | 12 |\n\n"
        "> 引用\n\n<p>East Money 的 <b>HTML</b> 段落</p>\n"
    )
    run_import(
        write_post(
            "2022-05-31-NW1.md",
            POST.format(body=body).replace("tags: 财联社新闻", "tags: [Federal Reserve, '宏观，A股']"),
        )
    )
    article = Article.objects.get()
    log_in(page, live_server)
    errors = open_editor(page, live_server, article)
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")

    saved = Article.objects.get()
    assert saved.body == article.body and saved.updated_at == article.updated_at
    assert not saved.edited_since_import
    assert sorted(saved.tags.names()) == ["Federal Reserve", "宏观，A股"]
    assert errors == []


def test_a_first_level_heading_typed_in_the_html_source_is_a_second_level_one(page, live_server, write_post):  # noqa: F811
    # The schema has no <h1>: without the source dialog's own rule it became a paragraph, silently.
    article = imported_article(write_post)
    log_in(page, live_server)
    errors = open_editor(page, live_server, article)
    page.locator(".prose-menubar [title=编辑源代码]").click()
    dialog = page.locator("dialog.prose-editor-dialog")
    dialog.locator("textarea").fill("<h1>美联储<em>议息</em></h1><p>市场加息预期升温。</p>")
    dialog.locator("button[type=submit]").click()
    expect(page.locator(".ProseMirror[contenteditable=true] h2")).to_have_text("美联储议息")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")

    assert Article.objects.get().body == "<h2>美联储<em>议息</em></h2><p>市场加息预期升温。</p>"
    assert errors == []


def apply_html_source(tab, html):
    tab.locator(".prose-menubar [title=编辑源代码]").click()
    dialog = tab.locator("dialog.prose-editor-dialog")
    dialog.locator("textarea").fill(html)
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_have_count(0)


def test_the_html_source_dialog_names_what_the_editor_left_out(page, live_server, write_post):  # noqa: F811
    # The schema drops what it cannot hold before the form is sent: the server never sees it to warn.
    article = imported_article(write_post)
    log_in(page, live_server)
    errors = open_editor(page, live_server, article)
    apply_html_source(page, '<p>文字</p><script>alert(1)</script><p onclick="x()">点</p>')
    expect(page.locator(".ProseMirror[contenteditable=true]")).to_contain_text("文字点")
    expect(page.locator(".prose-editor [role=alert]")).to_have_text(
        "以下内容编辑器不支持，已去掉：1 个 <script>（脚本）、1 处 onclick 属性（事件脚本）"
    )

    # Only what the editor holds (<h1> and <b> it rewrites): what it said before goes.
    apply_html_source(page, "<h1>美联储</h1><p><b>加息</b>预期<a href='https://example.com/'>升温</a></p>")
    expect(page.locator(".ProseMirror[contenteditable=true] strong")).to_have_text("加息")
    expect(page.locator(".prose-editor [role=alert]")).to_have_count(0)
    assert errors == []


def test_a_link_the_editor_refuses_is_counted_once_by_its_address(page, live_server, write_post):  # noqa: F811
    # The link schema refuses javascript: (the link goes, its text stays): one address lost, named,
    # as the server names it, not a lost <a> besides.
    article = imported_article(write_post)
    log_in(page, live_server)
    errors = open_editor(page, live_server, article)
    apply_html_source(
        page, '<p>据<a href="javascript:alert(1)">央行公告</a>，<a href="https://www.pbc.gov.cn/">央行</a></p>'
    )
    expect(page.locator(".ProseMirror[contenteditable=true]")).to_contain_text("据央行公告，央行")
    expect(page.locator(".prose-editor [role=alert]")).to_have_text(
        "以下内容编辑器不支持，已去掉：1 处 href 属性（链接地址：“javascript:alert(1)”）"
    )
    assert errors == []


# Addresses the editor's link schema keeps, by whether the allow-list keeps them too (address_is_kept).
KEPT_ADDRESSES = ["https://www.pbc.gov.cn/", "/news/NW1/", "//cdn.example/x", "http://例子.中国/", "mailto:a@b.cn"]
DROPPED_ADDRESSES = [
    "ftp://example.com/x", "tel:95588", "http://exa mple.com", "https://a%20b.example/", "https://[bad", "http://256.1.1.1/",
]  # fmt: skip
DROPPED_SAID = "以下地址本站不能保留，保存时会去掉（只保留能识别的 http、https、mailto 地址，链接文字保留）："


def test_the_html_source_dialog_names_the_addresses_the_save_will_drop(page, live_server, write_post):  # noqa: F811
    # The editor keeps a link to ftp: or to "http://exa mple.com" and the save drops its address
    # (the server's warning says so then): the dialog says it where the address was typed.
    assert all(map(address_is_kept, KEPT_ADDRESSES)) and not any(map(address_is_kept, DROPPED_ADDRESSES))
    article = imported_article(write_post)
    log_in(page, live_server)
    errors = open_editor(page, live_server, article)
    alert = page.locator(".prose-editor [role=alert]")
    for address in KEPT_ADDRESSES:
        apply_html_source(page, f'<p>据<a href="{address}">央行公告</a></p>')
        expect(page.locator(".ProseMirror[contenteditable=true] a")).to_have_attribute("href", address)
        expect(alert).to_have_count(0)
    for address in DROPPED_ADDRESSES:
        apply_html_source(page, f'<p>据<a href="{address}">央行公告</a></p>')
        expect(alert).to_have_text(f"{DROPPED_SAID}“{address}”")

    apply_html_source(page, '<p><script>x()</script><a href="tel:95588">客服</a><a href="ftp://e.cn/x">文件</a></p>')
    expect(alert).to_have_text(
        f"以下内容编辑器不支持，已去掉：1 个 <script>（脚本）；{DROPPED_SAID}“tel:95588”、“ftp://e.cn/x”"
    )
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")
    expect(page.locator(".messagelist .warning")).to_contain_text(
        "保存时已去掉：2 处 href 属性（链接地址：“tel:95588”、“ftp://e.cn/x”）。请核对正文"
    )
    assert Article.objects.get().body == "<p>客服文件</p>"
    assert errors == []


TYPED_LISTS = [
    "<p class=MsoListParagraph>1.&nbsp;&nbsp;营收增长</p><p class=MsoListParagraph>2.&nbsp;&nbsp;利润下降</p>",
    "<p class=MsoListParagraph><span>1.</span><span>&nbsp;&nbsp;</span>营收增长</p>"
    "<p class=MsoListParagraph><span>2.</span><span>&nbsp;&nbsp;</span>利润下降</p>",
    "<p style='mso-list:l0 level1 lfo1'>·&nbsp;营收增长</p><p style='mso-list:l0 level2 lfo1'>o&nbsp;其中主营</p>"
    "<p style='mso-list:l0 level1 lfo1'>·&nbsp;利润下降</p>",
    "<p class=MsoNormal style='mso-list:l1 level1 lfo2'>一、&nbsp;营收增长</p><p>说明段落</p>"
    "<p class=MsoNormal style='mso-list:l1 level1 lfo2'>二、&nbsp;利润下降</p>",
]


def lists_of(fragment):
    soup = BeautifulSoup(fragment, "lxml")
    return [
        (element.name, [item.get_text(" ", strip=True) for item in element.find_all("li", recursive=False)])
        for element in soup.select("ol, ul")
    ]


@pytest.mark.parametrize("typed", TYPED_LISTS)
def test_the_editor_pastes_typed_lists_as_the_sanitizer_reads_them(page, live_server, write_post, typed):  # noqa: F811
    article = imported_article(write_post, body="<p>原文</p>")
    log_in(page, live_server)
    open_editor(page, live_server, article)
    page.locator(".ProseMirror[contenteditable=true] p").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    paste(page, typed)
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")

    pasted = lists_of(Article.objects.get().body)
    assert pasted and pasted == lists_of(sanitize_html(typed))
