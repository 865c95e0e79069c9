"""The news flow of stocks and tags, the stocks mentioned with a stock, and 热门股票."""

import datetime as dt
from itertools import pairwise

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import publishing
from articles.models import Article
from articles.site import charts
from tests.factories import make_article, make_stock

# Days are counted back from now at set hours ("10:00 two days ago", "today"): at 14:00 each is past.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("afternoon_in_beijing")]


def days_ago(days, hour=10):
    moment = timezone.localtime() - dt.timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def taibao():
    """中国太保: 3 articles 2 days ago, 1 yesterday (with 浦发), 1 today-ish; one 200 days ago."""
    taibao, pufa = make_stock("601601", name="中国太保"), make_stock("600000", name="浦发银行")
    for _ in range(3):
        make_article(stocks=[taibao], tags=["保险"], published_at=days_ago(2))
    # At midnight: yesterday, and more than 24 hours ago whatever the time now (not in 热门股票).
    make_article(stocks=[taibao, pufa], tags=["保险"], published_at=days_ago(1, hour=0))
    make_article(stocks=[taibao, pufa], published_at=timezone.now() - dt.timedelta(minutes=5))
    make_article(stocks=[taibao], published_at=days_ago(200))
    return taibao


def test_a_stock_page_draws_its_news_per_day_with_a_text_alternative(client, taibao):
    soup = BeautifulSoup(client.get(taibao.get_absolute_url()).content, "lxml")

    chart = soup.select_one("figure.news-flow svg.flow-chart")
    assert chart["role"] == "img" and chart.select_one("title").string == "中国太保 601601（上海） 每天的消息数"
    # It spans the days its list shows: back to the article of 200 days ago.
    assert (
        "共 6 篇" in chart.select_one("desc").string
        and f"{days_ago(2):%Y-%m-%d}，3 篇" in chart.select_one("desc").string
    )
    bars = [bar.select_one("title").string for bar in chart.select("rect")]
    assert bars == [
        f"{days_ago(200):%Y-%m-%d}：1 篇",
        f"{days_ago(2):%Y-%m-%d}：3 篇",
        f"{days_ago(1):%Y-%m-%d}：1 篇",
        f"{timezone.localdate():%Y-%m-%d}：1 篇",
    ]
    rows = [[cell.string for cell in row.select("td")] for row in soup.select(".flow-days tbody tr")]
    assert rows == [
        [f"{timezone.localdate():%Y-%m-%d}", "1"],
        [f"{days_ago(1):%Y-%m-%d}", "1"],
        [f"{days_ago(2):%Y-%m-%d}", "3"],
        [f"{days_ago(200):%Y-%m-%d}", "1"],
    ]


def test_the_chart_spans_what_the_stock_has_within_90_days(taibao):
    flow = charts.news_flow(Article.objects.published().filter(stocks=taibao), "stock", taibao.pk)

    # From its first day (200 days ago is outside), drawn 30 days wide at least.
    assert flow.last == timezone.localdate() and flow.first == flow.last - dt.timedelta(days=29)
    assert flow.total == 5 and len(flow.bars) == 30 and sum(bar.count > 0 for bar in flow.bars) == 3
    long_ago = make_article(stocks=[taibao], published_at=days_ago(60))
    assert long_ago.published_at.date() in charts._news_flow(Article.objects.published().filter(stocks=taibao)).days


def test_old_news_is_drawn_over_the_90_days_up_to_its_last_day():
    old = make_stock("000001", name="平安银行")
    make_article(stocks=[old], published_at=days_ago(400))
    make_article(stocks=[old], published_at=days_ago(250))

    flow = charts.news_flow(Article.objects.published().filter(stocks=old), "stock", old.pk)

    assert flow.last == days_ago(250).date() and flow.first == flow.last - dt.timedelta(days=29) and flow.total == 1


def test_stocks_mentioned_with_it(client, taibao):
    soup = BeautifulSoup(client.get(taibao.get_absolute_url()).content, "lxml")
    chips = [chip.get_text(" ", strip=True) for chip in soup.select(".mentioned-with .stock-chip")]
    assert chips == ["浦发银行 600000·2 篇"]


def test_a_tag_page_has_its_news_flow(client, taibao):
    soup = BeautifulSoup(client.get("/tag/bao-xian/").content, "lxml")
    assert "共 4 篇" in soup.select_one(".news-flow figcaption").string


def test_a_tag_page_s_chart_matches_its_list(client):
    stock = make_stock("601601", name="中国太保")
    for days in (1, 40, 120):
        make_article(stocks=[stock], tags=["保险"], published_at=days_ago(days))
    for url in ("/tag/bao-xian/", stock.get_absolute_url()):
        soup = BeautifulSoup(client.get(url).content, "lxml")

        listed = sorted(time["datetime"][:10] for time in soup.select(".article-list time"))
        days = sorted(row.td.string for row in soup.select(".flow-days tbody tr"))

        assert listed == days and "共 3 篇" in soup.select_one(".news-flow figcaption").string


@pytest.mark.parametrize("days", [30, 200, 366], ids=["mondays", "months", "a-year-of-months"])
def test_the_time_axis_is_labelled_with_dates_at_sensible_intervals(client, days):
    stock = make_stock("600000", name="浦发银行")
    make_article(stocks=[stock], published_at=days_ago(0, hour=0))
    make_article(stocks=[stock], published_at=days_ago(days - 1))

    soup = BeautifulSoup(client.get(stock.get_absolute_url()).content, "lxml")
    ticks = [(text["x"], text.string) for text in soup.select(".flow-chart .flow-ticks text.flow-date")]
    years = [(text["x"], text.string) for text in soup.select(".flow-chart .flow-ticks text.flow-year")]

    assert ticks, "the axis has dates"
    positions = [float(x.rstrip("%")) for x, _ in ticks]
    assert positions == sorted(positions) and all(0 < x < 100 for x in positions)
    first = timezone.localdate() - dt.timedelta(days=max(days, 30) - 1)
    expected_days = [first + dt.timedelta(n) for n in range((timezone.localdate() - first).days + 1)]
    if days <= 45:
        assert [label for _, label in ticks] == [f"{d.month}-{d.day:02}" for d in expected_days if d.weekday() == 0]
        assert years == []
    else:
        months = [d for d in expected_days if d.day == 1]
        assert [label for _, label in ticks] == [f"{d.month}月" for d in months]
        # Each January names its year under it; so does the first month, unless a January is near.
        named = [index for index, d in enumerate(months) if d.month == 1]
        if not {1, 2} & set(named):
            named = sorted({0, *named})
        assert years == [(ticks[index][0], f"{months[index].year}年") for index in named]


def firsts_of_months(first, last, months):
    days = [first + dt.timedelta(n) for n in range((last - first).days + 1)]
    return [day for day in days if day.day == 1 and day.month in months]


def months_between(first, day):
    return (day.year - first.year) * 12 + day.month - first.month


@pytest.mark.parametrize("years", [2, 6], ids=["weeks", "months"])
def test_a_tag_page_charts_its_whole_first_page_however_far_back(client, django_assert_num_queries, years):
    # A rare tag: its first page's 20 articles reach back `years` years; 3 older ones are on page 2.
    reach = 365 * years
    listed_days = [round(index * reach / 19) for index in range(20)]
    for days in [*listed_days, reach + 30, reach + 60, reach + 90]:
        make_article(tags=["罕见"], published_at=days_ago(days))

    response = client.get("/tag/han-jian/")
    soup = BeautifulSoup(response.content, "lxml")
    flow = response.context["flow"]

    oldest, today = days_ago(reach).date(), timezone.localdate()
    listed = [time["datetime"][:10] for time in soup.select(".article-list time")]
    assert len(listed) == 20 and listed[-1] == f"{oldest:%Y-%m-%d}"
    # Every listed day, and those only: the first bar starts at the oldest listed day.
    assert (flow.first, flow.last, flow.total) == (oldest, today, 20)
    assert flow.bars[0].day == oldest and flow.bars[-1].end == today and sum(bar.count for bar in flow.bars) == 20
    assert all(later.day == earlier.end + dt.timedelta(days=1) for earlier, later in pairwise(flow.bars))
    if years == 2:
        assert flow.bucket == "week" and len(flow.bars) in (105, 106)
        assert all(bar.day.weekday() == 0 for bar in flow.bars[1:]) and flow.bars[0].end.weekday() == 6
        first_label = f"{oldest:%Y-%m-%d}" + (f" 至 {flow.bars[0].end:%Y-%m-%d}" if oldest.weekday() < 6 else "")
        ticked = firsts_of_months(oldest, today, (1, 4, 7, 10))
        labels = [f"{day.month}月" for day in ticked]
        words = ("每周", "最多的一周", "按周查看", "周")
    else:
        assert flow.bucket == "month" and len(flow.bars) in (72, 73)
        assert all(bar.day.day == 1 for bar in flow.bars[1:])
        first_label = f"{oldest.year}年{oldest.month}月" + (f"（{oldest.day}日起）" if oldest.day > 1 else "")
        # New Year's Days, but for one too near an edge to centre its year on.
        ticked = [
            day
            for day in firsts_of_months(oldest, today, (1,))
            if 6 <= round((months_between(oldest, day) + 0.5) * 100 / len(flow.bars), 2) <= 94
        ]
        labels = [f"{day.year}年" for day in ticked]
        words = ("每月", "最多的一个月", "按月查看", "月份")
    assert len(ticked) >= 5 and [tick.label for tick in flow.ticks] == labels
    # Each date in the middle of the bar that holds it.
    for tick in flow.ticks:
        (bar,) = [bar for bar in flow.bars if bar.day <= tick.day <= bar.end]
        assert tick.percent == pytest.approx((bar.x + 3.5) * 100 / flow.width, abs=0.01)

    # The page says it in words: the bucket, the dates of the caption, and each bar's days.
    per, busiest, summary, column = words
    caption = soup.select_one(".news-flow figcaption").string
    assert caption.startswith(f"{per}的消息数：{oldest:%Y-%m-%d} 至 {today:%Y-%m-%d}，共 20 篇，{busiest} ")
    chart = soup.select_one("figure.news-flow svg.flow-chart")
    assert chart.select_one("title").string == f"标签：罕见 {per}的消息数"
    assert [text.string for text in chart.select(".flow-ticks text.flow-date")] == labels
    bars = [bar.select_one("title").string for bar in chart.select("rect")]
    assert bars[0] == f"{first_label}：1 篇" and sum(int(bar.split("：")[1].split(" ")[0]) for bar in bars) == 20
    assert soup.select_one(".flow-days summary").string == summary
    assert soup.select_one(".flow-days th").string == column
    rows = [[cell.string for cell in row.select("td")] for row in soup.select(".flow-days tbody tr")]
    assert rows[-1] == [first_label, "1"] and sum(int(count) for _, count in rows) == 20
    # The viewBox holds every bar: the page scales it to its width.
    assert chart.select_one("svg.flow-bars")["viewbox"] == f"0 0 {len(flow.bars) * 7} 60"

    # However far back, one query of its days' counts (bounded by the listed days), kept per version.
    articles = Article.objects.published().filter(tagged_items__tag__name="罕见")
    listed_articles = list(articles.order_by("-published_at")[:20])
    with django_assert_num_queries(1):
        assert charts.news_flow(articles, "tag-long", 1, listed=listed_articles).bars == flow.bars
    with django_assert_num_queries(0):
        assert charts.news_flow(articles, "tag-long", 1, listed=[]).total == 20


@pytest.mark.parametrize(("days", "bucket"), [(366, "day"), (367, "week"), (3 * 366, "week"), (3 * 366 + 1, "month")])
def test_a_bar_is_a_day_up_to_a_year_a_week_up_to_three_years_and_a_month_beyond(days, bucket):
    stock = make_stock("600000", name="浦发银行")
    make_article(stocks=[stock], published_at=days_ago(0, hour=0))
    make_article(stocks=[stock], published_at=days_ago(days - 1))
    articles = Article.objects.published().filter(stocks=stock)

    flow = charts.news_flow(articles, "stock-list", stock.pk, listed=list(articles.order_by("-published_at")))

    assert flow.bucket == bucket and flow.first == days_ago(days - 1).date() and len(flow.days) == days
    assert flow.busy_bars[-1].day == flow.first and sum(bar.count for bar in flow.busy_bars) == 2


def test_hot_stocks_of_the_last_24_hours_on_the_home_page(client, taibao):
    make_article(stocks=[make_stock("000002", name="万科A")], published_at=timezone.now() - dt.timedelta(hours=30))
    soup = BeautifulSoup(client.get("/").content, "lxml")
    hot = [item.get_text(" ", strip=True) for item in soup.select(".hot-stocks li")]
    assert hot == ["中国太保 601601 · 1 篇", "浦发银行 600000 · 1 篇"]  # equals in the order they were first seen


def test_without_news_in_24_hours_the_latest_day_counts():
    stock = make_stock("000002", name="万科A")
    make_article(stocks=[stock], published_at=days_ago(10))
    make_article(stocks=[stock], published_at=days_ago(10, hour=12))
    make_article(stocks=[make_stock("000001")], published_at=days_ago(12))

    until, hot = charts.hot_stocks()
    assert [(stock.code, count) for stock, count in hot] == [("000002", 2)] and until == days_ago(10, hour=12)


def test_their_cost_does_not_grow_with_the_articles_and_is_kept_per_version(taibao, django_capture_on_commit_callbacks):
    def queries_of_computing():
        with CaptureQueriesContext(connection) as queries:
            flow = charts.news_flow(Article.objects.published().filter(stocks=taibao), "stock", taibao.pk)
            charts.mentioned_with(taibao, flow)
            charts.hot_stocks()
        return len(queries)

    with django_capture_on_commit_callbacks(execute=True):
        publishing.save_topic(taibao)  # a new content version
    few = queries_of_computing()
    assert queries_of_computing() == 0, "kept for the content version"
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(40):
            make_article(stocks=[taibao, make_stock(f"6000{number:02d}")], published_at=days_ago(number % 80))
    assert queries_of_computing() == few
