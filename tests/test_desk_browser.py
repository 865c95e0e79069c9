"""The desk in a real browser (issue 25): leaving a changed form, typed work surviving a closed tab,
who else is editing, the word count, the list's columns on a laptop. Debian's Chromium through
Playwright, as tests/test_browser.py."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from articles import presence, publishing
from articles.models import Article
from articles.roles import EDITOR_GROUP_NAME
from tests.factories import make_article, make_category, make_stock
from tests.test_browser import browser, close_quietly, expect, screenshot  # noqa: F401 (the module's fixture)
from tests.test_views import cover_upload

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-passphrase-7"


def editor(username, **names):
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, **names)
    user.groups.add(Group.objects.get(name=EDITOR_GROUP_NAME))
    return user


@pytest.fixture
def open_as(browser, live_server):  # noqa: F811
    """open_as(user) -> (page, dialogs): a browser window of its own, logged in as ``user``."""
    contexts = []

    def open_window(user):
        context = browser.new_context(
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        return page, dialogs

    yield open_window
    for context in contexts:
        close_quietly(context)


@pytest.fixture
def article():
    return make_article(category=make_category("cailianshe"), title="原来的标题", body="<p>原来的正文</p>")


def change_url(live_server, article):
    return f"{live_server.url}/admin/articles/article/{article.pk}/change/"


def test_leaving_a_changed_form_asks_first(open_as, live_server, article):
    page, dialogs = open_as(editor("xiaowang"))
    page.goto(change_url(live_server, article))
    page.goto(f"{live_server.url}/admin/")
    assert dialogs == []  # nothing typed: leaving asks nothing

    page.goto(change_url(live_server, article))
    page.click("#id_title")
    page.keyboard.type("（改了一半）")
    with page.expect_event("dialog") as asked:
        page.close(run_before_unload=True)

    assert asked.value.type == "beforeunload"


def test_typed_work_survives_a_closed_tab_and_is_offered_back(open_as, live_server, article):
    page, dialogs = open_as(editor("xiaowang"))
    page.goto(change_url(live_server, article))
    page.fill("#id_title", "浏览器崩溃前的标题")
    page.locator(".ProseMirror[contenteditable=true]").click()
    page.keyboard.press("End")
    page.keyboard.type("补充的一句。")
    page.wait_for_timeout(2500)  # the form is kept every two seconds
    context = page.context
    page.close()  # as a crash: no chance to ask

    page = context.new_page()
    page.goto(change_url(live_server, article))
    expect(page.locator("#desk-draft")).to_be_visible()
    assert page.input_value("#id_title") == "原来的标题"
    screenshot(page, "desk-draft-offered")
    page.click(".desk-draft-restore")

    expect(page.locator("#id_title")).to_have_value("浏览器崩溃前的标题")
    expect(page.locator(".ProseMirror[contenteditable=true]")).to_contain_text("原来的正文补充的一句。")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")
    stored = Article.objects.get(pk=article.pk)
    assert stored.title == "浏览器崩溃前的标题" and "补充的一句。" in stored.body

    page.goto(change_url(live_server, article))
    expect(page.locator("#id_title")).to_have_value("浏览器崩溃前的标题")
    assert page.locator("#desk-draft").is_hidden()  # saved: nothing more to offer
    assert dialogs == []


def test_a_paste_into_the_body_alone_is_kept_as_a_draft(open_as, live_server, article):
    page, _ = open_as(editor("xiaowang"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(change_url(live_server, article))
    page.evaluate(
        """() => navigator.clipboard.write([new ClipboardItem({
            "text/html": new Blob(["<p>粘贴的一段</p>"], {type: "text/html"}),
            "text/plain": new Blob(["粘贴的一段"], {type: "text/plain"}),
        })])"""
    )
    page.locator(".ProseMirror[contenteditable=true]").click()
    page.keyboard.press("Control+V")  # a real paste: no input event, only the editor's transaction
    page.wait_for_timeout(2500)
    context = page.context
    page.close()

    page = context.new_page()
    page.goto(change_url(live_server, article))
    expect(page.locator("#desk-draft")).to_be_visible()
    page.click(".desk-draft-restore")
    expect(page.locator(".ProseMirror[contenteditable=true]")).to_contain_text("粘贴的一段")


def test_a_refused_save_still_guards_what_was_typed(open_as, live_server, article):
    # The conflict says "您的修改尚未保存" and suggests comparing: the form it shows was no longer
    # guarded (leaving asked nothing, no local draft), and opening 历史 there lost the typed work.
    first, _ = open_as(editor("zhangsan", last_name="张", first_name="三"))
    second, dialogs = open_as(editor("lisi", last_name="李", first_name="四"))
    first.goto(change_url(live_server, article))
    second.goto(change_url(live_server, article))
    first.fill("#id_title", "第一位编辑的标题")
    first.click("input[name=_continue]")
    expect(first.locator(".messagelist")).to_contain_text("已保存")
    second.fill("#id_summary", "第二位编辑写的摘要")
    second.click("input[name=_continue]")
    expect(second.locator("#article_form .errorlist")).to_contain_text("已被编辑张三修改")
    expect(second.locator("#id_summary")).to_have_value("第二位编辑写的摘要")

    with second.expect_event("dialog") as asked:
        second.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"
    context = second.context
    second.close()  # as a crash

    page = context.new_page()
    page.goto(change_url(live_server, article))
    expect(page.locator("#desk-draft")).to_be_visible()
    page.click(".desk-draft-restore")
    expect(page.locator("#id_summary")).to_have_value("第二位编辑写的摘要")
    assert dialogs == ["beforeunload"]


def save_after_logging_out_elsewhere(page, live_server, back_to):
    """注销 in another tab of the editor's, then 保存 on ``page``: the login page comes instead of a
    save; logging in again leads back to ``back_to`` (the form's address)."""
    other = page.context.new_page()
    other.goto(f"{live_server.url}/admin/")
    other.click("#logout-form button")
    other.wait_for_url("**/admin/logout/")
    other.close()

    page.click("input[name=_save]")
    page.wait_for_url("**/admin/login/**")
    page.fill("#id_username", "xiaowang")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(back_to)


def test_a_save_that_met_an_ended_session_offers_the_typed_work_back(open_as, live_server, article):
    # 注销 in another tab (or a session expired): the save led to the login page, the login back to
    # the form as stored, and the draft, marked as sent, was dropped as if it had been saved.
    page, dialogs = open_as(editor("xiaowang"))
    page.goto(change_url(live_server, article))
    page.fill("#id_title", "会话结束前写的标题")
    save_after_logging_out_elsewhere(page, live_server, back_to=change_url(live_server, article))

    expect(page.locator("#desk-draft")).to_be_visible()
    page.click(".desk-draft-restore")
    expect(page.locator("#id_title")).to_have_value("会话结束前写的标题")
    assert Article.objects.get(pk=article.pk).title == "原来的标题"
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/articles/article/")
    assert Article.objects.get(pk=article.pk).title == "会话结束前写的标题"
    page.goto(change_url(live_server, article))
    assert page.locator("#desk-draft").is_hidden()  # saved: nothing more to offer
    assert dialogs == []


def test_a_new_article_sent_after_its_session_ended_is_offered_back(open_as, live_server):
    page, dialogs = open_as(editor("xiaowang"))
    add_url = f"{live_server.url}/admin/articles/article/add/"
    page.goto(add_url)
    page.fill("#id_title", "会话结束前写的新文章")
    save_after_logging_out_elsewhere(page, live_server, back_to=add_url)

    expect(page.locator("#desk-draft")).to_be_visible()
    page.click(".desk-draft-restore")
    expect(page.locator("#id_title")).to_have_value("会话结束前写的新文章")
    assert not Article.objects.exists() and dialogs == []


def test_a_discarded_draft_is_gone(open_as, live_server, article):
    page, _ = open_as(editor("xiaowang"))
    page.goto(change_url(live_server, article))
    page.fill("#id_title", "不要了的标题")
    page.wait_for_timeout(2500)
    context = page.context
    page.close()

    page = context.new_page()
    page.goto(change_url(live_server, article))
    page.click(".desk-draft-discard")
    page.reload()
    assert page.locator("#desk-draft").is_hidden()
    assert page.input_value("#id_title") == "原来的标题"


def test_a_second_editor_is_told_who_is_editing(open_as, live_server, article):
    first, _ = open_as(editor("zhangsan", last_name="张", first_name="三"))
    before = f"{timezone.localtime():%H:%M}"
    first.goto(change_url(live_server, article))
    after = f"{timezone.localtime():%H:%M}"

    second, _ = open_as(editor("lisi", last_name="李", first_name="四"))
    second.goto(change_url(live_server, article))

    notice = second.locator("#desk-editing")
    expect(notice).to_contain_text("张三 自 ")
    assert notice.inner_text().strip() in {
        f"张三 自 {at} 起正在编辑这篇文章（可以继续修改；保存时如有冲突会提示）。" for at in (before, after)
    }
    screenshot(second, "desk-who-is-editing")


def test_an_open_form_learns_who_came_and_who_left(open_as, live_server, article, monkeypatch):
    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 1)
    first, _ = open_as(editor("zhangsan", last_name="张", first_name="三"))
    first.goto(change_url(live_server, article))
    expect(first.locator("#desk-editing")).to_be_hidden()

    second, _ = open_as(editor("lisi", last_name="李", first_name="四"))
    second.goto(change_url(live_server, article))

    expect(first.locator("#desk-editing")).to_contain_text("李四 自 ")
    second.goto(f"{live_server.url}/admin/")
    expect(first.locator("#desk-editing")).to_be_hidden()


def test_the_body_s_words_are_counted_as_typed(open_as, live_server, article):
    page, _ = open_as(editor("xiaowang"))
    page.goto(change_url(live_server, article))
    expect(page.locator(".desk-word-count")).to_have_text("字数：5")

    page.locator(".ProseMirror[contenteditable=true]").click()
    page.keyboard.press("End")
    page.keyboard.type("，A股 上涨")

    expect(page.locator(".desk-word-count")).to_have_text("字数：9")
    screenshot(page, "desk-word-count")


def test_the_list_s_columns_stay_on_one_line(open_as, live_server, article):
    page, _ = open_as(editor("xiaowang"))
    page.set_viewport_size({"width": 900, "height": 800})
    page.goto(f"{live_server.url}/admin/articles/article/")

    cell = page.locator("#result_list td.field-publication_time").first
    assert cell.evaluate("element => getComputedStyle(element).whiteSpace") == "nowrap"
    assert page.locator("#result_list th.field-title").evaluate("e => getComputedStyle(e).whiteSpace") != "nowrap"
    screenshot(page, "desk-changelist")


def test_the_list_s_titles_are_not_squeezed_a_character_a_line(open_as, live_server):
    article = make_article(category=make_category("cailianshe"), title="示例：新能源汽车板块午后走强 多只个股涨停")
    desk = editor("xiaowang")
    until = timezone.now() + dt.timedelta(hours=2)
    publishing.pin_article(article, kind=Article.Pin.TOP, until=until, user=desk)  # the widest 置顶 cell
    page, _ = open_as(desk)
    page.goto(f"{live_server.url}/admin/articles/article/")  # 1280 wide, the sidebar and filters open

    cell = page.locator("#result_list .field-title", has_text="新能源")
    font = float(cell.evaluate("element => parseFloat(getComputedStyle(element).fontSize)"))
    assert cell.bounding_box()["width"] >= 12 * font
    screenshot(page, "desk-changelist-wide")


@pytest.fixture
def a_day_s_list(settings, tmp_path):
    """A day's list as editors have it: long titles, Chinese and pinyin categories, several stocks
    and tags, covers, a 要闻 with its term and a scheduled copy of a story. Its desk: the editor."""
    settings.MEDIA_ROOT = tmp_path / "media"
    desk = editor("xiaowang")
    categories = [
        make_category("21shijijingjibaodao  nancailicaitong", title="21世纪经济报道南财理财通"),
        make_category("cailianshe", title="财联社"),
        make_category("zhongguozhengquanbao"),
    ]
    stocks = [make_stock(f"60160{n}", name=f"中国太保{n}") for n in range(8)]
    titles = [
        "示例：新能源汽车板块午后走强 多只个股涨停，宁德时代、比亚迪领涨，北向资金净买入超50亿元",
        "国家金融监督管理总局：进一步加强商业银行理财产品销售管理，保护投资者合法权益的若干意见（征求意见稿）",
        "NIO蔚来汽车公布第三季度财报：营收同比增长，毛利率环比改善",
        "央行开展1000亿元MLF操作",
    ]
    lead = None
    for number in range(12):
        extra = {"cover_image": cover_upload()} if number % 2 == 0 else {}
        if number == 3:
            extra.update(published_at=timezone.now() + dt.timedelta(days=3), story=lead)
        article = make_article(
            category=categories[number % 3],
            title=titles[number % 4],
            stocks=stocks[: number % 8 + 1],
            tags=["宏观", "A股", "港股", "新能源汽车", "北向资金"],
            source_name="21世纪经济报道" if number % 2 else "财联社",
            **extra,
        )
        lead = lead or article
    until = timezone.now() + dt.timedelta(hours=2)
    publishing.pin_article(lead, kind=Article.Pin.TOP, until=until, user=desk)
    return desk


def title_width_in_em(page):
    """The width of the list's first title cell, in its font's em."""
    title = page.locator("#result_list tbody .field-title").first
    font = float(title.evaluate("element => parseFloat(getComputedStyle(element).fontSize)"))
    return title.bounding_box()["width"] / font


def sideways(page, selector):
    """How far the element at ``selector`` scrolls sideways, in CSS px (0: all of it is in view)."""
    return page.locator(selector).evaluate("element => element.scrollWidth - element.clientWidth")


@pytest.mark.parametrize("width", [1280, 1440])
def test_every_column_of_the_list_is_in_view_on_a_laptop_with_the_sidebar_open(
    open_as, live_server, a_day_s_list, width
):
    page, _ = open_as(a_day_s_list)
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/admin/articles/article/")
    screenshot(page, f"desk-changelist-{width}")

    assert page.locator("#nav-sidebar").is_visible() and page.locator("#changelist-filter").is_visible()
    assert page.locator("#result_list tbody tr").count() == 12
    assert sideways(page, "html") <= 0
    assert sideways(page, "#changelist-form .results") <= 0
    assert title_width_in_em(page) >= 12


def test_a_title_of_one_long_word_breaks_instead_of_widening_the_list(open_as, live_server, a_day_s_list):
    make_article(title="FederalOpenMarketCommitteeStatementOnLongerRunGoalsAndMonetaryPolicyStrategyToday")
    page, _ = open_as(a_day_s_list)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/admin/articles/article/")

    assert page.locator("#nav-sidebar").is_visible()
    assert sideways(page, "html") <= 0
    assert sideways(page, "#changelist-form .results") <= 0
    assert title_width_in_em(page) >= 12


def test_on_a_1024_px_screen_the_page_stays_put_and_closing_the_sidebar_shows_every_column(
    open_as, live_server, a_day_s_list
):
    page, _ = open_as(a_day_s_list)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{live_server.url}/admin/articles/article/")

    assert sideways(page, "html") <= 0  # the page stays put; the list scrolls in its own box
    assert title_width_in_em(page) >= 12
    page.click("#toggle-nav-sidebar")
    expect(page.locator("#nav-sidebar")).to_be_hidden()

    assert sideways(page, "html") <= 0
    assert sideways(page, "#changelist-form .results") <= 0
    screenshot(page, "desk-changelist-1024-sidebar-closed")
