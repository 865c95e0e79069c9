"""What a reader of financial news expects (issue 26): 7×24 快讯, channels, stocks with names,
charts that say when, the article page's side column, sharing, and the small things."""

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup
from django.test.utils import override_script_prefix
from django.urls import reverse
from django.utils import timezone

from articles import publishing
from articles.caching import keys
from articles.models import Article
from articles.site import times
from articles.site.aside import Sparkline
from articles.site.views import highest_key
from tests.conftest import post_text, run_import
from tests.factories import make_article, make_category, make_stock
from tests.test_caching import committed, redis_cache, varnish  # noqa: F401  (fixtures: Redis, commits, purges)

pytestmark = pytest.mark.django_db


def soup_of(response):
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.content, "lxml")


def page_keys(response):
    return set(response["xkey"].split())


def at(hour, minute, days_ago=0):
    """An aware time today (Beijing), ``days_ago`` days back."""
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


class TestTimesOfTheDay:
    def test_times_read_today_yesterday_or_the_date(self):
        today = dt.date(2026, 11, 29)
        moment = timezone.make_aware(dt.datetime(2026, 11, 29, 15, 2))

        assert times.time_label(moment, today) == "今天 15:02"
        assert times.time_label(moment - dt.timedelta(days=1, hours=5, minutes=32), today) == "昨天 09:30"
        assert times.time_label(moment - dt.timedelta(days=2), today) == "2026-11-27 15:02"
        assert times.day_label(dt.date(2026, 11, 14), today) == "11月14日 星期六"
        assert times.day_label(dt.date(2022, 11, 14), today) == "2022年11月14日 星期一"

    def test_a_list_with_today_s_news_changes_at_midnight_even_from_a_cache(
        self, client, monkeypatch, afternoon_in_beijing
    ):
        category = make_category("cailianshe")
        make_article(category=category, title="午后快讯", published_at=timezone.now() - dt.timedelta(minutes=5))
        url = "/category/cailianshe/"

        first = client.get(url)
        label = timezone.localtime(timezone.now() - dt.timedelta(minutes=5)).strftime("今天 %H:%M")
        assert label in first.content.decode()
        assert keys.TODAY in page_keys(first)
        midnight = timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time.min))
        # Shared caches keep it no later than midnight.
        s_maxage = int(first["Cache-Control"].split("s-maxage=")[1].split(",")[0])
        assert s_maxage <= (midnight - timezone.now()).total_seconds() + 1

        after_midnight = midnight + dt.timedelta(minutes=1)
        monkeypatch.setattr(timezone, "now", lambda: after_midnight)
        content = client.get(url).content.decode()

        assert label not in content and label.replace("今天", "昨天") in content

    def test_old_news_pages_do_not_change_at_midnight(self, client):
        make_article(category=make_category("old"), published_at=timezone.now() - dt.timedelta(days=30))

        response = client.get("/category/old/")

        assert keys.TODAY not in page_keys(response)
        assert "s-maxage=3600" in response["Cache-Control"]


class TestLive:
    def test_a_timeline_of_every_story_newest_first_grouped_by_day(self, client):
        category = make_category("cailianshe")
        if timezone.localtime().time() < dt.time(0, 2):
            pytest.skip("needs today's 00:01 to have passed")
        make_article(category=category, title="今天早上", summary="早间摘要", published_at=at(0, 1))
        make_article(category=category, title="昨天晚上", published_at=at(21, 40, days_ago=1))
        make_article(category=category, title="三天以前", published_at=at(9, 0, days_ago=3))
        make_article(category=category, title="草稿不出现", status=Article.Status.DRAFT, published_at=at(0, 0))

        soup = soup_of(client.get("/7x24/"))

        # Without JavaScript nothing arrives by itself: live.js shows the promise.
        assert soup.select_one(".live-promise").has_attr("hidden")
        days = soup.select(".timeline-day")
        assert [day.h2.get_text() for day in days][:2] == ["今天", "昨天"]
        assert (
            days[2]
            .h2.get_text()
            .endswith(f"星期{'一二三四五六日'[(timezone.localdate() - dt.timedelta(3)).weekday()]}")
        )
        first = days[0].select_one(".timeline-item")
        assert first.time.get_text() == "00:01" and "今天早上" in first.get_text() and "早间摘要" in first.get_text()
        assert "草稿不出现" not in soup.get_text()
        assert soup.select_one("link[rel=canonical]")["href"].endswith("/7x24/")

    def test_pages_back(self, client):
        category = make_category("busy")
        for hours in range(55):
            make_article(category=category, published_at=timezone.now() - dt.timedelta(hours=hours + 1))

        first, second = soup_of(client.get("/7x24/")), soup_of(client.get("/7x24/?page=2"))

        assert len(first.select(".timeline-item")) == 50 and len(second.select(".timeline-item")) == 5
        assert first.select_one("a[rel=next]")["href"] == "?page=2"
        # Only the first page follows new items.
        assert first.select_one("[data-live]") and not second.select_one("[data-live]")

    def test_page_links_and_canonical_addresses_are_the_pages_themselves(self, client):
        category = make_category("busy")
        for hours in range(45):
            make_article(category=category, published_at=timezone.now() - dt.timedelta(hours=hours + 1))
        url = category.get_absolute_url()

        assert soup_of(client.get(url)).select_one("link[rel=canonical]")["href"] == f"http://testserver{url}"
        for number in (2, 3):
            soup = soup_of(client.get(url, {"page": number}))
            assert soup.select_one("link[rel=canonical]")["href"] == f"http://testserver{url}?page={number}"
            for link in soup.select(".pagination a"):
                # Page 1 included: a link to ?page=1 was a redirect on every click.
                assert client.get(urljoin(f"{url}?page={number}", link["href"])).status_code == 200, link

    def test_the_fragment_brings_what_is_newer_and_is_purged_like_a_page(self, client, committed, varnish):  # noqa: F811
        category = make_category("cailianshe")
        shown = make_article(category=category, title="已显示", published_at=timezone.now() - dt.timedelta(minutes=9))
        page = soup_of(client.get("/7x24/"))
        url = page.select_one("[data-live]")["data-live"]
        assert url == f"/7x24/new/{shown.pk}/{shown.pk}/"

        empty = client.get(url)
        assert soup_of(empty).select_one(".live-new")["data-count"] == "0"
        assert keys.SITE in page_keys(empty) and "public" in empty["Cache-Control"]
        assert client.get(url).wsgi_request.page_cache_result == "hit"

        with committed():
            newer = make_article(
                category=category, title="刚刚到", published_at=timezone.now() - dt.timedelta(minutes=1)
            )
        fragment = soup_of(client.get(url)).select_one(".live-new")

        varnish.settle()
        assert keys.SITE in varnish.purged()
        assert fragment["data-count"] == "1" and "刚刚到" in fragment.get_text()
        assert "已显示" not in fragment.get_text()
        assert fragment["data-next"] == f"/7x24/new/{newer.pk}/{newer.pk}/"
        assert "noindex" in client.get(url)["X-Robots-Tag"]

        # The story a tab last saw is withdrawn: what came after it still arrives.
        with committed():
            publishing.set_status(Article.objects.filter(pk=newer.pk), Article.Status.DRAFT)
            later = make_article(category=category, title="再后来", published_at=timezone.now())
        fragment = soup_of(client.get(fragment["data-next"])).select_one(".live-new")
        assert fragment["data-count"] == "1" and "再后来" in fragment.get_text()
        assert fragment["data-next"] == f"/7x24/new/{later.pk}/{later.pk}/"

    def test_a_story_posted_late_and_one_coming_due_arrive_once(self, client, committed, monkeypatch):  # noqa: F811
        category = make_category("cailianshe")
        ago = lambda minutes: timezone.now() - dt.timedelta(minutes=minutes)  # noqa: E731
        titles = lambda fragment: [a.get_text() for a in fragment.select(".timeline-title")]  # noqa: E731
        with committed():
            make_article(category=category, title="较早", published_at=ago(30))
            due = make_article(
                category=category, title="定时稿件", published_at=timezone.now() + dt.timedelta(minutes=5)
            )
            newest = make_article(category=category, title="最新", published_at=ago(10))
        url = soup_of(client.get("/7x24/")).select_one("[data-live]")["data-live"]
        assert url == f"/7x24/new/{newest.pk}/{newest.pk}/"

        # The scraper posts now a story dated before the newest shown.
        with committed():
            late = make_article(category=category, title="迟到的快讯", published_at=ago(20))
        fragment = soup_of(client.get(url)).select_one(".live-new")

        assert fragment["data-count"] == "1" and titles(fragment) == ["迟到的快讯"]
        assert fragment.select_one("time")["datetime"] == timezone.localtime(late.published_at).isoformat()
        assert fragment["data-next"] == f"/7x24/new/{newest.pk}/{late.pk}/"
        assert soup_of(client.get(fragment["data-next"])).select_one(".live-new")["data-count"] == "0"
        # A tab opened before the fragment knew the highest key: it knows as far as the newest shown.
        old = soup_of(client.get(f"/7x24/new/{newest.pk}/")).select_one(".live-new")
        assert titles(old) == ["迟到的快讯"] and old["data-next"] == fragment["data-next"]

        # A scheduled story comes due: written before the newest shown, dated after it.
        later = timezone.now() + dt.timedelta(minutes=6)
        monkeypatch.setattr(timezone, "now", lambda: later)
        fragment = soup_of(client.get(fragment["data-next"])).select_one(".live-new")

        assert fragment["data-count"] == "1" and titles(fragment) == ["定时稿件"]
        assert fragment["data-next"] == f"/7x24/new/{due.pk}/{late.pk}/"
        assert soup_of(client.get(fragment["data-next"])).select_one(".live-new")["data-count"] == "0"

    def test_answers_of_at_most_live_new_most_items_bring_every_story_once(self, client, monkeypatch):
        from articles.site import views

        category = make_category("cailianshe")
        ago = lambda minutes: timezone.now() - dt.timedelta(minutes=minutes)  # noqa: E731
        for title, minutes in (("已显示甲", 30), ("已显示乙", 10)):
            make_article(category=category, title=title, published_at=ago(minutes))
        url = soup_of(client.get("/7x24/")).select_one("[data-live]")["data-live"]
        # Late and new, interleaved in the order they are written.
        for title, minutes in (("迟到一", 20), ("新一", 5), ("迟到二", 25), ("新二", 1), ("迟到三", 15)):
            make_article(category=category, title=title, published_at=ago(minutes))
        monkeypatch.setattr(views, "LIVE_NEW_MOST", 2)

        answers = []
        while True:
            fragment = soup_of(client.get(url)).select_one(".live-new")
            if fragment["data-count"] == "0":
                break
            answers.append([a.get_text() for a in fragment.select(".timeline-title")])
            url = fragment["data-next"]

        # Each answer newest first; together every new story, once, none of those shown.
        assert answers == [["新一", "迟到一"], ["新二", "迟到二"], ["迟到三"]]

    def test_the_home_page_counts_new_items_from_the_same_fragment(self, client):
        newest = make_article(title="最新")

        soup = soup_of(client.get("/"))

        notice = soup.select_one(".live-notice")
        assert notice["data-live"] == f"/7x24/new/{newest.pk}/{newest.pk}/" and notice.has_attr("hidden")
        assert soup.select_one('script[src*="live"]') is not None

    def test_query_counts(self, client, django_assert_num_queries):
        category = make_category("cailianshe")
        articles = [make_article(category=category) for _ in range(3)]
        client.get("/robots.txt")

        with django_assert_num_queries(3):  # the count, the page, the highest key (live_url)
            client.get("/7x24/")
        with django_assert_num_queries(0):  # kept per content version, for the home page too
            assert highest_key() == articles[-1].pk
        with django_assert_num_queries(2):  # the story shown, those new
            client.get(f"/7x24/new/{articles[-1].pk}/")
        with django_assert_num_queries(2):
            client.get(f"/7x24/new/{articles[0].pk}/{articles[-1].pk}/")


class TestChannels:
    def test_editors_choose_the_header_s_channels_and_their_order_in_the_admin(self, client, committed, varnish):  # noqa: F811
        from tests.factories import make_editor

        markets, funds, quiet = make_category("markets", title="市场"), make_category("funds", title="基金"), None
        quiet = make_category("quiet", title="无文章")
        for category in (markets, funds, quiet):
            if category is not quiet:
                make_article(category=category)
        page_before = client.get("/category/")
        assert not soup_of(page_before).select(".main-nav a[href^='/category/'][href$='s/']")

        editor = client_for(make_editor())
        with committed():
            for category, position in ((funds, 1), (markets, 2), (quiet, 3)):
                response = editor.post(
                    f"/admin/articles/category/{category.pk}/change/",
                    {
                        "name": category.name,
                        "title": category.title,
                        "slug": category.slug,
                        "description": "",
                        "channel_position": position,
                        "_save": "保存",
                    },
                )
                assert response.status_code == 302, response.content.decode()[:2000]
        varnish.settle()

        header = [a.get_text() for a in soup_of(client.get("/category/")).select(".main-nav a")]
        assert header == ["首页", "7×24", "基金", "市场", "分类", "归档"]  # a channel without news has no page
        assert keys.CHANNELS in varnish.purged()
        assert keys.CHANNELS in page_keys(client.get("/archive/"))

    def test_no_query_while_the_content_version_is_current(self, client, django_assert_num_queries):
        make_article(category=make_category("funds", title="基金", channel_position=1))
        client.get("/7x24/")

        with django_assert_num_queries(0):
            client.get("/robots.txt")


def client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


class TestSmallThings:
    def test_each_archive_has_one_address_and_says_so(self, client):
        make_article(published_at=timezone.make_aware(dt.datetime(2022, 5, 7, 10)))

        for padded, canonical in (
            ("/archive/2022/05/", "/archive/2022/5/"),
            ("/archive/2022/05/07/", "/archive/2022/5/7/"),
            ("/archive/2022/5/07/", "/archive/2022/5/7/"),
        ):
            response = client.get(padded)
            assert response.status_code == 301 and response["Location"] == canonical
            soup = soup_of(client.get(canonical))
            assert soup.select_one("link[rel=canonical]")["href"] == f"http://testserver{canonical}"

    def test_a_date_that_does_not_exist_is_not_found_not_redirected(self, client):
        # A month or day too large for a C long made datetime.date raise OverflowError: a 500.
        huge = "9" * 20
        for path in (
            "/archive/2026/02/30/",
            "/archive/2026/2/30/",
            "/archive/2026/13/",
            "/archive/2026/00/",
            f"/archive/2026/{huge}/",
            f"/archive/2026/5/{huge}/",
        ):
            assert client.get(path).status_code == 404, path

    def test_day_links_carry_the_year(self, client):
        for day in (7, 9):
            make_article(published_at=timezone.make_aware(dt.datetime(2022, 11, day, 10)))
        make_article(published_at=timezone.make_aware(dt.datetime(2022, 11, 14, 10)))

        links = [a.get_text() for a in soup_of(client.get("/archive/2022/11/9/")).select(".archive-nav a")]

        assert links == ["← 2022年11月7日", "2022年11月14日 →"]

    def test_the_nav_marks_where_the_reader_is(self, client):
        category = make_category("funds", title="基金", channel_position=1)
        make_article(category=category)

        def current(url):
            return [a.get_text() for a in soup_of(client.get(url)).select(".main-nav [aria-current=page]")]

        assert current("/") == ["首页"]
        assert current("/7x24/") == ["7×24"]
        assert current("/category/funds/") == ["基金"]
        assert current("/archive/") == ["归档"]
        assert current("/search/?q=基金") == []

    def test_the_header_and_footer_link_under_the_site_s_prefix(self, client, settings):
        settings.PAGE_CACHE_SECONDS = 0  # the same address is asked for with and without a prefix
        make_article()

        def links():
            soup = soup_of(client.get("/"))
            header = [a["href"] for a in soup.select(".site-header a")] + [soup.select_one(".search-form")["action"]]
            return header, soup.select_one(".site-footer a")["href"]

        assert links() == (["/", "/", "/7x24/", "/category/", "/archive/", "/search/"], "/feed.xml")
        with override_script_prefix("/finews/"):  # as SCRIPT_NAME sets it behind a proxy
            under_prefix = links()
        assert under_prefix == (
            ["/finews/", "/finews/", "/finews/7x24/", "/finews/category/", "/finews/archive/", "/finews/search/"],
            "/finews/feed.xml",
        )
        assert links() == (["/", "/", "/7x24/", "/category/", "/archive/", "/search/"], "/feed.xml")

    def test_a_year_page_links_to_the_years_with_news_around_it(self, client):
        for year in (2019, 2022, 2024):
            make_article(published_at=timezone.make_aware(dt.datetime(year, 6, 1, 10)))

        soup = soup_of(client.get("/archive/2022/"))

        links = [(a["href"], a.get_text()) for a in soup.select(".archive-nav a")]
        assert links == [("/archive/2019/", "← 2019年"), ("/archive/2024/", "2024年 →")]

    def test_date_modified_is_when_the_content_last_changed(self, client, committed):  # noqa: F811
        published = timezone.now() - dt.timedelta(days=2)
        article = make_article(title="原标题", published_at=published)

        def date_modified():
            soup = soup_of(client.get(article.get_absolute_url()))
            return json.loads(soup.select_one('script[type="application/ld+json"]').string)["dateModified"]

        assert date_modified() == timezone.localtime(published).isoformat()
        # Saved again as an import saves an unchanged post: no change a reader reads.
        with committed():
            publishing.save_article(Article.objects.get(pk=article.pk), edited=False)
        assert date_modified() == timezone.localtime(published).isoformat()

        changed = Article.objects.get(pk=article.pk)
        changed.title = "新标题"
        with committed():
            publishing.save_article(changed)
        assert timezone.now() - dt.datetime.fromisoformat(date_modified()) < dt.timedelta(minutes=1)

    def test_the_footer_sits_at_the_bottom_of_a_short_page(self):

        css = (Path(__file__).resolve().parents[1] / "static" / "css" / "site.css").read_text()
        # The browser test measures it; here, the rule that does it.
        assert "body { min-height: 100vh; display: flex; flex-direction: column; }" in css


class TestHomeLead:
    def test_with_nothing_pinned_the_page_is_as_before(self, client):
        # Published now, not at the factory's default (an hour back for each article made before in
        # the process): a CI run listed the sample posts as 最新消息, rows or facts another test left.
        make_article(title="普通消息", published_at=timezone.now())

        soup = soup_of(client.get("/"))

        assert soup.select_one(".home-lead") is None and "普通消息" in soup.select_one(".latest").get_text()

    def test_the_desk_s_lead_and_top_stories_lead_the_page(self, client, committed, varnish):  # noqa: F811
        lead = make_article(title="头条消息", summary="头条摘要", published_at=timezone.now() - dt.timedelta(hours=30))
        ago = lambda minutes: timezone.now() - dt.timedelta(minutes=minutes)  # noqa: E731
        second, first = (
            make_article(title="要闻乙", published_at=ago(90)),
            make_article(title="要闻甲", published_at=ago(10)),
        )
        unpinned = make_article(title="未置顶", published_at=ago(60))
        client.get("/")
        with committed():
            publishing.pin_article(lead, kind=Article.Pin.LEAD)
            publishing.pin_article(first, kind=Article.Pin.TOP, order=1)
            publishing.pin_article(second, kind=Article.Pin.TOP, order=2)
        varnish.settle()

        response = client.get("/")
        soup = soup_of(response)

        assert keys.HOME in varnish.purged() and keys.HOME in page_keys(response)
        assert soup.select_one(".lead-story .lead-title").get_text() == "头条消息"
        assert "头条摘要" in soup.select_one(".lead-story").get_text()
        assert [a.get_text() for a in soup.select(".top-stories .article-item-title")] == ["要闻甲", "要闻乙"]
        latest = soup.select_one(".latest").get_text()
        assert "未置顶" in latest and "要闻甲" not in latest and "头条消息" not in latest
        # New items are those newer than any shown, pinned or not.
        assert soup.select_one(".live-notice")["data-live"] == f"/7x24/new/{first.pk}/{unpinned.pk}/"

    def test_the_lead_and_list_items_show_their_covers(self, client, settings, tmp_path):
        import io

        from django.core.files.uploadedfile import SimpleUploadedFile
        from PIL import Image

        settings.MEDIA_ROOT = tmp_path / "media"
        png = io.BytesIO()
        Image.new("RGB", (640, 360), "red").save(png, "PNG")
        lead = make_article(title="有封面的头条", cover_image=SimpleUploadedFile("lead.png", png.getvalue()))
        make_article(title="有封面的消息", cover_image=SimpleUploadedFile("item.png", png.getvalue()))
        make_article(title="没有封面的消息")
        publishing.pin_article(lead, kind=Article.Pin.LEAD)

        soup = soup_of(client.get("/"))

        # The lead, the page's largest paint, is the thumbnail (at most 480 px; its column is
        # about 330 CSS px on a phone and 350 on a desktop), never the full cover an editor
        # uploaded (up to 40 million pixels): asked for first, its box reserved.
        cover = soup.select_one(".lead-story img.lead-cover")
        assert cover["src"].startswith("/media/covers/thumbnails/") and "srcset" not in cover.attrs
        assert (cover["width"], cover["height"], cover["fetchpriority"]) == ("480", "270", "high")
        assert "loading" not in cover.attrs
        items = {
            item.select_one(".article-item-title").get_text(): item for item in soup.select(".latest .article-item")
        }
        assert items["有封面的消息"].select_one("img.item-cover")["src"].startswith("/media/covers/thumbnails/")
        assert items["没有封面的消息"].select_one("img") is None

    def test_query_count(self, client, django_assert_num_queries):
        publishing.pin_article(make_article(title="头条消息"), kind=Article.Pin.LEAD)
        client.get("/robots.txt")

        # The pins, the latest, the window, the sections and the highest key (the live fragment's
        # cursor), once per version; 热门股票 (no stock): 2.
        with django_assert_num_queries(7):
            client.get("/")


def chart_link(market_id, code):
    """East Money's K-line chart block: a stock mentioned without a name."""
    return (
        f'<!-- EM_StockImg_Start --><p><a href="http://quote.eastmoney.com/unify/r/{market_id}.{code}" '
        f'data-code="{code}|{market_id}|1"><img src="https://webquoteklinepic.eastmoney.com/x.png" '
        f'alt="K图 {code}_0"></a></p><!-- EM_StockImg_End -->'
    )


class TestStocksWithNames:
    @pytest.mark.parametrize(
        ("market_id", "code", "text", "name"),
        [
            ("1", "601601", "<p>中国太保（601601）发布公告。</p>", "中国太保"),
            ("1", "601601", "<p>公告称中国太保(601601.SH)年内保费增长，中国太保表示……</p>", "中国太保"),
            ("116", "00700", "<p>腾讯控股(00700)收涨。</p>", "腾讯控股"),
            ("116", "00388", "<p>里昂下调港交所(00388.HK)目标价，港交所……</p>", "港交所"),
            ("1", "600519", "<p>白酒股龙头贵州茅台(600519)大涨。</p>", "贵州茅台"),
        ],
    )
    def test_a_code_without_a_name_takes_the_name_the_post_writes_beside_it(
        self, client, write_post, market_id, code, text, name
    ):

        run_import(write_post("2022-01-07-NW1.md", post_text(body=text + chart_link(market_id, code))))

        stock = Article.objects.get(info_code="NW1").stocks.get()
        assert stock.code == code and stock.name == name
        chip = soup_of(client.get(Article.objects.get(info_code="NW1").get_absolute_url())).select_one(".stock-chip a")
        assert chip.get_text(" ", strip=True).startswith(f"{name} {code}")

    def test_a_stock_without_any_name_shows_its_code_once(self, client):
        stock = make_stock("601601")
        article = make_article(stocks=[stock])

        chip = soup_of(client.get(article.get_absolute_url())).select_one(".stock-chip a").get_text(" ", strip=True)
        heading = soup_of(client.get("/stock/sh/601601/")).h1.get_text()

        assert chip == "601601·上海" and heading == "601601（上海）"

    def test_an_editor_s_name_wins_and_a_later_post_names_a_nameless_stock(self, write_post):

        make_stock("601601", name="太保（编辑）")
        make_stock("600519")
        body = "<p>中国太保（601601）与贵州茅台（600519）。</p>" + chart_link("1", "601601") + chart_link("1", "600519")
        run_import(write_post("2022-01-07-NW2.md", post_text(body=body)))

        names = dict(Article.objects.get(info_code="NW2").stocks.values_list("code", "name"))
        assert names == {"601601": "太保（编辑）", "600519": "贵州茅台"}

    def test_names_show_in_feeds_and_the_api(self, client, write_post):

        run_import(
            write_post("2022-01-07-NW3.md", post_text(body="<p>中国太保（601601）。</p>" + chart_link("1", "601601")))
        )

        feed = client.get("/stock/sh/601601/feed/").content.decode()
        api = client.get("/api/v1/stocks/").json()

        assert "<title>金融消息 · 中国太保 601601（上海）</title>" in feed
        assert {"market": "sh", "code": "601601", "name": "中国太保"}.items() <= api[0].items()

    def test_stocks_stored_before_are_named_once_by_a_command(self):
        from io import StringIO

        from django.core.management import call_command

        stock, unnamed = make_stock("601601"), make_stock("600000")
        make_article(body="<p>中国太保（601601）三季报。</p>", stocks=[stock, unnamed])
        out = StringIO()

        call_command("name_stocks", verbosity=2, stdout=out)

        stock.refresh_from_db()
        unnamed.refresh_from_db()
        assert stock.name == "中国太保" and unnamed.name == ""
        assert "sh 601601: 中国太保" in out.getvalue() and "1 stocks named." in out.getvalue()


class TestArticleSideColumn:
    def test_stocks_with_their_news_flow_hot_stocks_and_the_latest_of_the_category(self, client, time_machine):
        # On a day of its own: a CI run's hot list held other rows of the last 24 hours (蔚来, 新能源).
        time_machine.move_to(dt.datetime(2031, 6, 2, 6, tzinfo=dt.UTC), tick=True)
        category = make_category("cailianshe", title="财联社")
        stock = make_stock("601601", name="中国太保")
        hour = keys.hour_start(timezone.now())
        for hours in (2, 3, 30):
            make_article(
                category=category,
                stocks=[stock],
                title=f"旧{hours}",
                summary=f"旧{hours}的摘要",
                published_at=hour - dt.timedelta(hours=hours),
            )
        article = make_article(category=category, stocks=[stock], published_at=hour - dt.timedelta(hours=1))
        make_article(category=category, title="本小时的新消息", published_at=hour + dt.timedelta(seconds=1))

        aside = soup_of(client.get(article.get_absolute_url())).select_one("aside.article-aside")

        assert aside.select_one(".stock-chip a").get_text(" ", strip=True).startswith("中国太保 601601")
        assert (
            len(aside.select(".sparkline rect")) in (1, 2, 3)
            and "4 篇" in aside.select_one(".aside-stocks .count").get_text()
        )
        # The sparkline's time axis: its first and last day under its ends (it spans FLOW_DAYS up to the hour).
        first, last = (time["datetime"] for time in aside.select(".sparkline-axis time"))
        assert first == f"{timezone.localdate(hour - dt.timedelta(days=keys.FLOW_DAYS)):%Y-%m-%d}"
        assert last == f"{timezone.localdate(hour - dt.timedelta(microseconds=1)):%Y-%m-%d}"
        assert [li.a.get_text() for li in aside.select(".hot-list li")] == ["中国太保"]
        latest = [a.get_text() for a in aside.select(".compact-list .article-item-title")]
        assert latest == ["旧2", "旧3", "旧30"]  # not itself; not the current hour's
        # A compact list: titles and times only (the category is the page's own).
        assert not aside.select(".compact-list .article-item-summary")
        assert not aside.select(".compact-list .meta a")

    def test_old_news_alone_still_shows_hot_stocks_and_the_latest_of_the_category(self, client):
        category = make_category("cailianshe", title="财联社")
        stock = make_stock("601601", name="中国太保")
        days_ago = timezone.now() - dt.timedelta(days=10)
        for n in range(3):
            make_article(
                category=category, stocks=[stock], title=f"旧闻{n}", published_at=days_ago - dt.timedelta(hours=n)
            )
        article = make_article(category=category, title="本文", published_at=days_ago - dt.timedelta(days=5))

        response = client.get(article.get_absolute_url())

        aside = soup_of(response).select_one("aside.article-aside")
        assert [li.a.get_text() for li in aside.select(".hot-list li")] == ["中国太保"]
        caption = aside.select_one(".hot-stocks .count").get_text()
        assert caption == f"{timezone.localtime(days_ago):%m-%d %H:%M} 前 24 小时内被提到最多"
        assert [a.get_text() for a in aside.select(".compact-list .article-item-title")] == ["旧闻0", "旧闻1", "旧闻2"]
        # A quiet site and category: the page hangs on any change before the hour, of the site's
        # and of the category's (not on its list: a post of this hour waits for the hour to turn).
        shown = page_keys(response)
        assert {keys.HOT_QUIET, keys.quiet_category_before_hour(category.pk)} <= shown and keys.HOT not in shown
        assert keys.category_list(category.pk) not in shown
        assert not any(key.startswith("cb") for key in shown)

    def test_a_busy_category_names_its_days_not_its_list(self, client):
        category = make_category("cailianshe")
        stock = make_stock("601601", name="中国太保")
        hour = keys.hour_start(timezone.now())
        for hours in range(1, 8):
            make_article(category=category, stocks=[stock], published_at=hour - dt.timedelta(hours=hours))
        article = make_article(category=category, published_at=hour - dt.timedelta(days=2))

        shown = page_keys(client.get(article.get_absolute_url()))

        day = timezone.localdate(hour - dt.timedelta(hours=5))
        assert keys.category_before_hour(category.pk, day) in shown and keys.HOT in shown
        assert keys.quiet_category_before_hour(category.pk) not in shown and keys.HOT_QUIET not in shown

    def test_a_new_article_in_a_quiet_category_reaches_the_pages_showing_its_latest(self, client, committed, varnish):  # noqa: F811
        category = make_category("cailianshe")
        with committed():
            article = make_article(category=category, published_at=timezone.now() - dt.timedelta(days=20))
            make_article(category=category, title="旧闻", published_at=timezone.now() - dt.timedelta(days=10))
            # The site is busy (热门股票 counts the last 24 hours): only the category is quiet.
            make_article(
                stocks=[make_stock("601601")], published_at=keys.hour_start(timezone.now()) - dt.timedelta(hours=2)
            )
        varnish.settle()
        varnish.purges.clear()
        shown = page_keys(client.get(article.get_absolute_url()))

        # Older than the LATEST_DAYS the day keys count, newer than what the page shows.
        with committed():
            make_article(category=category, title="补发", published_at=timezone.now() - dt.timedelta(days=8))
        varnish.settle()

        assert shown & varnish.purged() == {keys.quiet_category_before_hour(category.pk)}
        titles = soup_of(client.get(article.get_absolute_url())).select(
            ".article-aside .compact-list .article-item-title"
        )
        assert [a.get_text() for a in titles] == ["补发", "旧闻"]

    def test_a_post_of_this_hour_leaves_the_page_alone_a_late_one_purges_it(self, client, committed, varnish):  # noqa: F811
        category = make_category("cailianshe")
        stock = make_stock("601601", name="中国太保")
        hour = keys.hour_start(timezone.now())
        with committed():
            article = make_article(category=category, stocks=[stock], published_at=hour - dt.timedelta(hours=2))
        varnish.settle()
        varnish.purges.clear()
        shown = page_keys(client.get(article.get_absolute_url()))

        with committed():
            make_article(
                category=category, stocks=[stock], published_at=max(hour, timezone.now() - dt.timedelta(seconds=1))
            )
        varnish.settle()
        side = {key for key in shown if key in (keys.HOT, keys.HOUR) or key.startswith(("sp", "cb"))}
        assert side and side & varnish.purged() == set(), side & varnish.purged()

        with committed():
            make_article(category=category, stocks=[stock], title="补发", published_at=hour - dt.timedelta(minutes=30))
        varnish.settle()
        assert {keys.HOT, keys.stock_before_hour(stock.pk)} <= shown & varnish.purged()
        assert "补发" in client.get(article.get_absolute_url()).content.decode()

    def test_stocks_and_hot_stocks_drawn_once_per_version_and_hour_yet_a_rename_shows_at_once(
        self,
        client,
        committed,  # noqa: F811
        settings,
        monkeypatch,
    ):
        settings.PAGE_CACHE_SECONDS = 0  # every request renders its page
        category = make_category("cailianshe")
        hour = keys.hour_start(timezone.now())
        with committed():
            stock = make_stock("601601", name="中国太保")
            first, second = (
                make_article(category=category, stocks=[stock], published_at=hour - dt.timedelta(hours=hours))
                for hours in (2, 1)
            )
        drawn = []
        drawing = Sparkline.drawing
        monkeypatch.setattr(Sparkline, "drawing", property(lambda flow: drawn.append(flow) or drawing.fget(flow)))

        def side_column(article):
            column = soup_of(client.get(article.get_absolute_url())).select_one("aside.article-aside")
            chip = column.select_one(".stock-chip a").get_text(" ", strip=True)
            return chip, [item.a.get_text() for item in column.select(".hot-list li")]

        assert side_column(first) == side_column(second) == ("中国太保 601601·上海", ["中国太保"])
        assert len(drawn) == 1  # the second page, of the same stock, reused the first's markup

        with committed():
            stock.name = "中国太平洋保险"
            publishing.save_topic(stock)

        assert side_column(first) == ("中国太平洋保险 601601·上海", ["中国太平洋保险"])
        assert len(drawn) == 2

    def test_it_changes_when_the_hour_turns_even_from_a_cache(self, client, monkeypatch):
        category = make_category("cailianshe")
        hour = keys.hour_start(timezone.now())
        article = make_article(category=category, published_at=hour - dt.timedelta(hours=3))
        make_article(category=category, title="本小时的新消息", published_at=timezone.now() - dt.timedelta(seconds=1))

        def side_column():
            return soup_of(client.get(article.get_absolute_url())).select_one("aside.article-aside").get_text()

        assert "本小时的新消息" not in side_column()

        later = hour + dt.timedelta(hours=1, seconds=1)
        monkeypatch.setattr(timezone, "now", lambda: later)

        assert "本小时的新消息" in side_column()


class TestSharing:
    def test_copy_link_weibo_and_a_wechat_qr_code_drawn_by_the_server(self, client):
        article = make_article(title="央行宣布降准")

        soup = soup_of(client.get(article.get_absolute_url()))

        address = f"http://testserver{article.get_absolute_url()}"
        share = soup.select_one("section.share")
        assert share.select_one("input#share-url")["value"] == address
        weibo = share.select_one("a.share-weibo")["href"]
        assert weibo.startswith("https://service.weibo.com/share/share.php?url=http%3A%2F%2Ftestserver%2Fnews%2F")
        # A link to the drawing, which share.js makes a lazy image (tests/test_browser.py).
        link = share.select_one(".share-wechat a.qr-code-link")
        assert link["data-alt"] == f"本文地址的二维码：{address}" and not share.select("img")
        drawing = client.get(link["href"])
        assert drawing.status_code == 200 and drawing["Content-Type"] == "image/svg+xml"
        svg = BeautifulSoup(drawing.content, "xml").svg
        assert svg.title.get_text() == f"二维码：{address}" and svg.path["d"]
        # A drawing only: nothing in it can run script when opened on its own.
        assert {element.name for element in svg.find_all(True)} <= {"title", "path"}
        assert not any(attribute.startswith("on") for element in svg.find_all(True) for attribute in element.attrs)
        # No third-party script: only our own files.
        assert all(script["src"].startswith("/static/") for script in soup.select("script[src]"))
        assert "segno==" in (Path(__file__).resolve().parents[1] / "requirements.txt").read_text()

    def test_the_qr_code_is_of_the_page_readers_get_and_only_of_public_articles(self, client):
        lead = make_article(title="央行宣布降准")
        copy = make_article(title="央行宣布降准", story=lead)
        draft = make_article(title="草稿", status=Article.Status.DRAFT)

        drawing = client.get(reverse("articles:article-qr-code", args=[copy.info_code]))

        svg = BeautifulSoup(drawing.content, "xml").svg
        assert svg.title.get_text() == f"二维码：http://testserver{lead.get_absolute_url()}"
        assert client.get(reverse("articles:article-qr-code", args=[draft.info_code])).status_code == 404
        assert f"a{lead.pk}" in drawing["xkey"].split()  # purged with the article (its slug is in the address)
