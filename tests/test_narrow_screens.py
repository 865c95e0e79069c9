"""No public page is wider than a 360 px phone, whatever an article holds (Debian's Chromium)."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import make_article, make_category, make_stock
from tests.test_browser import browser, page, screenshot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 360
LONG_WORD = "Shanghai" * 11
LONG_URL = "https://www.example.com/" + "a1b2c3d4e5" * 30 + ".html"
LONG_NUMBER = "1" * 200
WIDE_TABLE = (
    "<table><tbody>"
    + "<tr>"
    + "".join(f"<td>列{n}数据很长的单元格内容</td>" for n in range(30))
    + "</tr></tbody></table>"
)
DEEP_LIST = "<ul><li>" * 30 + "层层嵌套的列表项目" + "</li></ul>" * 30
HOSTILE_BODY = (
    f"<p>{LONG_URL}</p><p><a href='{LONG_URL}'>{LONG_URL}</a></p><p>成交额 {LONG_NUMBER} 元</p>"
    f"<p>{LONG_WORD}</p>{WIDE_TABLE}<pre><code>{'x = 1; ' * 80}</code></pre><p><code>{LONG_WORD}</code></p>"
    f"<h2>{LONG_WORD}</h2><blockquote><blockquote><blockquote><p>{LONG_NUMBER}</p></blockquote></blockquote></blockquote>"
    f"{DEEP_LIST}<p><img src='https://example.com/wide.png' width='2000' height='100' alt='宽图'></p>"
)


@pytest.fixture
def hostile_site():
    category = make_category("widecategory", title="分类" + LONG_WORD)
    stock = make_stock("601601", name="中国太保" + LONG_WORD)
    when = timezone.localtime().replace(hour=10) - dt.timedelta(days=1)
    article = make_article(
        category,
        tags=["标签" + LONG_WORD],
        stocks=[stock],
        title="长标题" + LONG_WORD,
        summary="摘要" + LONG_URL,
        body=HOSTILE_BODY,
        source_name="来源" + LONG_WORD,
        source_url=LONG_URL,
        published_at=when,
    )
    make_article(category, title="上一篇" + LONG_NUMBER, published_at=when - dt.timedelta(hours=1))
    make_article(category, title="下一篇" + LONG_WORD, published_at=when + dt.timedelta(minutes=1))
    return article, stock


def test_no_page_is_wider_than_a_phone(page, live_server, hostile_site):  # noqa: F811
    article, stock = hostile_site
    day = timezone.localtime(article.published_at)
    tag = article.tags.get()
    paths = {
        "home": "/",
        "article": article.get_absolute_url(),
        "category index": "/category/",
        "category": article.category.get_absolute_url(),
        "tag": f"/tag/{tag.slug}/",
        "stock": stock.get_absolute_url(),
        "archive": "/archive/",
        "archive year": f"/archive/{day.year}/",
        "archive month": f"/archive/{day.year}/{day.month}/",
        "archive day": f"/archive/{day.year}/{day.month}/{day.day}/",
        "search": "/search/?q=Shanghai",
        "search for a long word": f"/search/?q={LONG_NUMBER}",
        "404": f"/news/{LONG_NUMBER[:40]}/",
    }
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    wider = {}
    for name, path in paths.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == (404 if name == "404" else 200), name
        screenshot(page, f"phone-360-{name.replace(' ', '-')}")
        width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        if width > PHONE_WIDTH:
            wider[name] = width
    assert wider == {}


def test_a_wide_table_scrolls_in_its_own_box(page, live_server, hostile_site):  # noqa: F811
    article, _ = hostile_site
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    page.goto(f"{live_server.url}{article.get_absolute_url()}")
    table = page.evaluate(
        """(() => { const t = document.querySelector('.article-body table');
        return [t.scrollWidth, t.clientWidth, getComputedStyle(t).overflowX] })()"""
    )
    assert table[0] > table[1] <= PHONE_WIDTH and table[2] == "auto"


def test_a_table_keeps_a_stock_s_short_name_on_one_line_on_a_phone(page, live_server):  # noqa: F811
    # East Money's quote tables: a column was two characters wide (its 4em counted the padding),
    # so 贵州茅台 and *ST海航 read as two lines each.
    names = ["贵州茅台", "*ST海航", "腾讯控股", "宁德时代"]
    head = "".join(f"<th>{name}</th>" for name in ("证券代码", "证券简称", "最新价", "涨跌幅", "成交额", "所属行业"))
    rows = "".join(
        f"<tr><td>60051{number}</td><td>{name}</td><td>1.23</td><td>+5.13</td><td>123456.78</td><td>航空机场</td></tr>"
        for number, name in enumerate(names)
    )
    article = make_article(body=f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    page.goto(f"{live_server.url}{article.get_absolute_url()}")
    lines = page.evaluate(
        """[...document.querySelectorAll('.article-body td:nth-child(2)')].map(cell => {
        const range = document.createRange(); range.selectNodeContents(cell);
        return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size })"""
    )
    assert lines == [1, 1, 1, 1]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_the_keyboard_focus_ring_in_the_sideways_nav_is_whole(page, live_server, width):  # noqa: F811
    # The nav scrolls sideways, and a scrolling box clips what is drawn outside it: a ring drawn
    # around a link as tall as the nav lost its top and bottom edges.
    page.set_viewport_size({"width": width, "height": 740})
    page.goto(live_server.url)
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.main-nav')"):
            break
    ring, box = page.evaluate(
        """(() => { const link = document.activeElement, style = getComputedStyle(link);
        const out = parseFloat(style.outlineWidth) + parseFloat(style.outlineOffset);
        const r = link.getBoundingClientRect(), n = link.closest('.main-nav').getBoundingClientRect();
        return [style.outlineStyle === 'none' ? null : [r.top - out, r.bottom + out],
                [n.top, n.bottom]] })()"""
    )
    assert ring is not None, "no focus ring"
    assert box[0] <= ring[0] and ring[1] <= box[1], (ring, box)


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
@pytest.mark.parametrize("span", [365, 1000, 2190, 7300], ids=["days", "weeks", "months", "20-years"])
def test_the_dates_of_a_news_flow_do_not_run_into_each_other(page, live_server, width, span):  # noqa: F811
    # A year of months is 27 px a month on a phone: "2025年12月" and "2026年1月" were drawn over each other.
    # Longer lists are drawn a week or a month a bar, their axes labelled with quarters or years.
    stock = make_stock("601601", name="中国太保")
    for days in (0, span):
        make_article(stocks=[stock], published_at=timezone.localtime() - dt.timedelta(days=days))
    page.set_viewport_size({"width": width, "height": 740})
    page.goto(f"{live_server.url}{stock.get_absolute_url()}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the chart is wider than the screen"
    boxes = page.evaluate(
        """[...document.querySelectorAll('.flow-ticks text')].map(t => t.getBoundingClientRect())
        .filter(r => r.width).map(r => [r.left, r.right, r.top, r.bottom, r.width])"""
    )
    assert len(boxes) >= 5, "the axis is labelled"
    met = [
        (a, b)
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        # A text's box is its line's (with leading): boxes 2 px into each other still leave the letters apart.
        if a[0] < b[1] + 2 and b[0] < a[1] + 2 and a[2] < b[3] - 2 and b[2] < a[3] - 2
    ]
    assert met == [], met


def test_the_channels_fade_at_the_edge_of_a_phone_and_scroll_clear_of_it(page, live_server):  # noqa: F811
    # The nav shows no scroll bar: without the fade, a channel cut at the edge was the only sign of more.
    for position, name in enumerate(["财联社", "东财滚动", "券商中国", "央行网站", "中国基金报", "中国证券报"]):
        make_article(make_category(f"channel{position}", title=name, channel_position=position + 1))
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    page.goto(live_server.url)
    nav = page.locator(".main-nav")
    assert nav.evaluate("n => n.scrollWidth > n.clientWidth"), "the channels overflow a phone"
    assert "linear-gradient" in nav.evaluate(
        "n => getComputedStyle(n).maskImage || getComputedStyle(n).webkitMaskImage"
    )

    nav.evaluate("n => { n.scrollLeft = n.scrollWidth }")
    last = page.locator(".main-nav li:last-child a").bounding_box()
    box = nav.bounding_box()
    assert last["x"] + last["width"] <= box["x"] + box["width"] - 20, (last, box)


def test_the_current_channel_is_in_view_on_a_phone(page, live_server):  # noqa: F811
    # The channels scroll sideways on a phone: the last one's page began with it off-screen.
    names = ["财联社", "东财滚动", "券商中国", "央行网站", "中国基金报", "中国证券报", "上海证券报", "证券时报"]
    for position, name in enumerate(names):
        make_article(make_category(f"channel{position}", title=name, channel_position=position + 1))
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 640})
    page.goto(f"{live_server.url}/category/channel{len(names) - 1}/")
    nav = page.locator(".main-nav")
    assert nav.evaluate("n => n.scrollWidth > n.clientWidth"), "the channels overflow a phone"
    current = page.locator(".main-nav [aria-current]")
    assert current.inner_text() == "证券时报"
    page.wait_for_load_state("load")  # site.js has run (deferred)
    box, edge = current.bounding_box(), nav.bounding_box()
    # Within the viewport, and clear of the nav's fading edge; the page itself did not scroll.
    assert box["x"] >= 0 and box["x"] + box["width"] <= min(PHONE_WIDTH, edge["x"] + edge["width"] - 20), box
    assert page.evaluate("window.scrollY") == 0
    screenshot(page, "phone-current-channel")

    # The first channels' pages stay as they were: 首页 is where the nav starts.
    page.goto(live_server.url)
    page.wait_for_load_state("load")
    assert nav.evaluate("n => n.scrollLeft") == 0


@pytest.mark.parametrize("width", [1280, 900])
def test_many_channels_leave_the_search_box_beside_the_title_on_a_wider_screen(page, live_server, width):  # noqa: F811
    # Nine channels pushed the search box onto a line of its own at 1280 px: they wrap instead,
    # every one shown (no sideways scroll off a phone, where a mouse has no way to it).
    names = [
        "财联社",
        "东财滚动",
        "券商中国",
        "央行网站",
        "中国基金报",
        "中国证券报",
        "上海证券报",
        "证券时报",
        "期货日报",
    ]
    for position, name in enumerate(names):
        make_article(make_category(f"channel{position}", title=name, channel_position=position + 1))
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(live_server.url)

    title, search = page.locator(".site-title").bounding_box(), page.locator(".site-header .search-form").bounding_box()
    assert abs((title["y"] + title["height"] / 2) - (search["y"] + search["height"] / 2)) < 8, (title, search)
    nav = page.locator(".main-nav")
    assert nav.evaluate("n => n.scrollWidth <= n.clientWidth"), "no channel is out of sight"
    assert page.locator(".main-nav a").count() == len(names) + 4
    for link in page.locator(".main-nav a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= search["x"], (link.inner_text(), box, search)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"desktop-{width}-many-channels")


def test_search_results_start_on_a_phones_first_screen(page, live_server):  # noqa: F811
    # The four filters, each on a line of its own, and the header's second search box filled a
    # 640-px screen: the first result began at 741 px.
    for position in range(6):
        make_article(
            make_category(f"channel{position}", title=f"频道{position}", channel_position=position + 1),
            title=f"央行降准{position}",
        )
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 640})
    page.goto(f"{live_server.url}/search/?q=降准")
    first = page.locator(".search-results .article-item").first
    assert first.bounding_box()["y"] < 640, first.bounding_box()
    screenshot(page, "phone-search")

    # The filters unfold (a details element: no script) and narrow the search.
    page.locator(".search-filters summary").click()
    page.select_option("#id_category", "channel2")
    page.locator(".search-page-form button[type=submit]").click()
    page.wait_for_url("**category=channel2**")
    assert page.locator(".search-results .article-item-title").all_inner_texts() == ["央行降准2"]
    assert page.locator(".search-filters").evaluate("d => d.open")


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_a_long_stock_name_is_cut_inside_its_chip_with_the_whole_name_in_its_title(page, live_server, width):  # noqa: F811
    long_name = "中国太平洋保险（集团）股份有限公司境外上市外资股" * 3
    stock, partner = make_stock("601601", name=long_name), make_stock("600000", name="浦发银行")
    article = make_article(stocks=[stock, partner])
    page.set_viewport_size({"width": width, "height": 740})
    # The article's chips, and those of the stocks mentioned with another on its page.
    for path in (article.get_absolute_url(), partner.get_absolute_url()):
        page.goto(f"{live_server.url}{path}")
        chips = page.evaluate(
            """[...document.querySelectorAll('.stock-chip')].map(chip => {
            const name = chip.querySelector('.stock-name'), r = chip.getBoundingClientRect();
            const inside = [...chip.querySelectorAll('.stock-code, .quote-link')]
              .every(part => part.getBoundingClientRect().right <= r.right + 0.5);
            return {title: name && name.title, cut: name && name.scrollWidth > name.clientWidth,
                    overflows: chip.scrollWidth > chip.clientWidth, inside: inside,
                    within: r.right <= chip.parentElement.getBoundingClientRect().right + 0.5} })"""
        )
        long_chips = [chip for chip in chips if chip["title"] == long_name]
        assert long_chips, path
        for chip in long_chips:
            assert chip == {"title": long_name, "cut": True, "overflows": False, "inside": True, "within": True}, path
