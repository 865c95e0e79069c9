"""The news flow, for readers who would rather look than read: articles per day of a stock or a tag,
the stocks mentioned with a stock, and the stocks most mentioned now (热门股票).

Each is computed once per content version and kept in the cache (a few queries at any database
size: every one is bounded by a date range or a number of articles), so a page shows them in no
query at all until the content changes.
"""

import bisect
import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from articles.caching import VERSION_FACTS_SECONDS, current_version
from articles.models import Article, StockReference
from articles.months import next_month
from articles.validators import is_publication_time

CHART_DAYS = 90
MIN_CHART_DAYS = 30
# A list's first page is drawn whatever days it spans, a bar a day up to DAILY_CHART_DAYS, a week
# (from Monday) up to WEEKLY_CHART_DAYS, a month beyond: a bar a day of three years would be a hairline.
DAILY_CHART_DAYS = 366
WEEKLY_CHART_DAYS = 3 * 366
# A span of months labels its years, every few years past this many (seven "2026年" fit a phone).
MAX_YEAR_TICKS = 7
RELATED_STOCKS = 8
HOT_STOCKS = 10
HOT_WINDOW = dt.timedelta(hours=24)
CHART_KEY = "finews:chart:{version}:{kind}:{pk}"
# The drawing: bars of BAR_WIDTH in a viewBox CHART_HEIGHT high (the page scales it to its width).
BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 6, 1, 60


@dataclass
class Bar:
    """The articles of ``day`` to ``end`` (one day, week or month of the chart), and where they are drawn."""

    day: dt.date
    end: dt.date
    # The days it counts, in words for its title and the table: "2026-03-05", "2026-03-02 至 2026-03-08", "2026年3月".
    label: str
    count: int
    x: int
    y: float
    height: float


@dataclass(frozen=True)
class Unit:
    """What a bar counts, in the words of the caption (每天的消息数, 最多的一天) and of the table (按日查看, 日期)."""

    per: str
    one: str
    by: str
    column: str


UNITS = {
    "day": Unit("每天", "一天", "按日", "日期"),
    "week": Unit("每周", "一周", "按周", "周"),
    "month": Unit("每月", "一个月", "按月", "月份"),
}


@dataclass
class Tick:
    """A date on the time axis: ``percent`` from the left (the middle of the bar that holds it)."""

    day: dt.date
    label: str
    percent: float
    anchor: str
    # The year, on a line of its own under the label ("2026年"), or "".
    year: str = ""
    # Every other date of a crowded axis, which a phone leaves unlabelled (the tick stays).
    minor: bool = False


@dataclass
class NewsFlow:
    """Articles per Beijing day (``counts``: {date: count}), from ``first`` to ``last``, drawn as a
    bar per ``bucket``: "day", "week" (Monday to Sunday) or "month", the first and last cut to
    ``first`` and ``last``."""

    first: dt.date
    last: dt.date
    counts: dict
    bucket: str = "day"

    @property
    def unit(self):
        return UNITS[self.bucket]

    @property
    def days(self):
        return [self.first + dt.timedelta(days=offset) for offset in range((self.last - self.first).days + 1)]

    @property
    def spans(self):
        """[(start, end)]: the days of each bar, oldest first."""
        spans, start = [], self.first
        while start <= self.last:
            end = min(_bucket_end(start, self.bucket), self.last)
            spans.append((start, end))
            start = end + dt.timedelta(days=1)
        return spans

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def busiest(self):
        """The Bar of the busiest day (week, month), the earliest of equals."""
        return max(self.bars, key=lambda bar: bar.count)

    @property
    def width(self):
        return len(self.spans) * (BAR_WIDTH + BAR_GAP)

    @property
    def height(self):
        return CHART_HEIGHT

    @cached_property
    def bars(self):
        spans = self.spans
        starts = [start for start, _ in spans]
        counts = [0] * len(spans)
        for day, count in self.counts.items():
            counts[bisect.bisect_right(starts, day) - 1] += count
        top = max(counts)
        bars = []
        for index, ((start, end), count) in enumerate(zip(spans, counts, strict=True)):
            height = CHART_HEIGHT * count / top
            label = _bucket_label(start, end, self.bucket)
            bars.append(Bar(start, end, label, count, index * (BAR_WIDTH + BAR_GAP), CHART_HEIGHT - height, height))
        return bars

    @property
    def ticks(self):
        """The dates labelled on the time axis, each in the middle of its bar, at intervals that suit
        the span: Mondays up to six weeks (``11-14``), first days of months beyond (``11月``; first
        days of quarters past 400 days), New Year's Days past WEEKLY_CHART_DAYS (``2024年``, every
        few years past MAX_YEAR_TICKS, none at the very edges). A month's year goes on a line below
        at January and at the first date, unless a January follows within two dates (the two years
        would meet on a phone). Past six months, every other month or quarter is ``minor``."""
        days = self.days
        if len(days) <= 45:
            chosen = [day for day in days if day.weekday() == 0]
            labels = [f"{day.month}-{day.day:02}" for day in chosen]
            years = [""] * len(chosen)
        elif self.bucket == "month":
            new_years = [day for day in days if day.day == 1 and day.month == 1]
            step = math.ceil(len(new_years) / MAX_YEAR_TICKS)
            chosen = [day for day in new_years if day.year % step == 0]
            labels = [f"{day.year}年" for day in chosen]
            years = [""] * len(chosen)
        else:
            months = (1, 4, 7, 10) if len(days) > 400 else range(1, 13)
            chosen = [day for day in days if day.day == 1 and day.month in months]
            labels = [f"{day.month}月" for day in chosen]
            years = [
                f"{day.year}年"
                if day.month == 1 or (index == 0 and all(later.month != 1 for later in chosen[1:3]))
                else ""
                for index, day in enumerate(chosen)
            ]
        crowded = len(days) > 45 and len(chosen) > 6 and self.bucket != "month"
        starts = [start for start, _ in self.spans]
        ticks = []
        for index, (day, label, year) in enumerate(zip(chosen, labels, years, strict=True)):
            percent = round((bisect.bisect_right(starts, day) - 1 + 0.5) * 100 / len(starts), 2)
            anchor = "start" if percent < 6 else "end" if percent > 94 else "middle"
            if self.bucket == "month" and anchor != "middle":
                # A year pushed off the edge would run into the next one, a year (a phone's 40 px) away.
                continue
            ticks.append(Tick(day, label, percent, anchor, year, minor=crowded and index % 2 == 1))
        return ticks

    @property
    def busy_bars(self):
        """The bars with news, newest first: the chart's text alternative."""
        return [bar for bar in reversed(self.bars) if bar.count]


def _bucket_end(day, bucket):
    """The last day of the day, week (to Sunday) or month ``day`` starts or falls in."""
    if bucket == "week":
        return day + dt.timedelta(days=6 - day.weekday())
    if bucket == "month":
        return next_month(day) - dt.timedelta(days=1)
    return day


def _bucket_label(start, end, bucket):
    if bucket == "week" and end > start:
        return f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}"
    if bucket == "month":
        # The first month may start after the 1st: the chart counts from the oldest listed day only.
        return f"{start.year}年{start.month}月" + (f"（{start.day}日起）" if start.day > 1 else "")
    return f"{start:%Y-%m-%d}"


def _kept(kind, pk, compute):
    key = CHART_KEY.format(version=current_version(), kind=kind, pk=pk)
    return cache.get_or_set(key, compute, VERSION_FACTS_SECONDS)


def news_flow(articles, kind, pk, listed=None):
    """The NewsFlow of ``articles`` (published ones of a stock or tag) over the last CHART_DAYS days,
    or, when those had none, the CHART_DAYS up to its latest article; None when it has none.

    ``listed``: the articles its list's first page shows, newest first. The chart then spans the
    days they do (from the oldest listed, MIN_CHART_DAYS at least) up to today, or up to the newest
    listed when that is older than CHART_DAYS, however long that is: a bar a day up to
    DAILY_CHART_DAYS, a week up to WEEKLY_CHART_DAYS, a month beyond.
    """
    return _kept(kind, pk, lambda: _news_flow(articles) if listed is None else _listed_flow(articles, listed))


def _listed_flow(articles, listed):
    # A time written around the write path (SQL) may sit where no day around it can be computed
    # (year 1): such an article is listed, not charted.
    listed = [article for article in listed if is_publication_time(article.published_at)]
    if not listed:
        return None
    today = timezone.localdate()
    newest, oldest = timezone.localdate(listed[0].published_at), timezone.localdate(listed[-1].published_at)
    last = today if (today - newest).days < CHART_DAYS else newest
    first = min(oldest, last - dt.timedelta(days=MIN_CHART_DAYS - 1))
    span = (last - first).days + 1
    bucket = "day" if span <= DAILY_CHART_DAYS else "week" if span <= WEEKLY_CHART_DAYS else "month"
    # Counted by day whatever the bars: the days from the oldest listed hold its few articles only.
    return NewsFlow(first=first, last=last, counts=_daily_counts(articles, last, first), bucket=bucket)


def _news_flow(articles):
    last = timezone.localdate()
    counts = _daily_counts(articles, last)
    if not counts:
        # Old news only: the days up to its latest (found by walking back; rare, and kept per version).
        latest = articles.order_by("-published_at").values_list("published_at", flat=True).first()
        if latest is None:
            return None
        last = timezone.localdate(latest)
        counts = _daily_counts(articles, last)
    # The span it has: from its first day with news when that is within the window, but never
    # fewer than MIN_CHART_DAYS (a week of news drawn 90 days wide would be seven slabs).
    first = max(
        last - dt.timedelta(days=CHART_DAYS - 1), min(min(counts), last - dt.timedelta(days=MIN_CHART_DAYS - 1))
    )
    return NewsFlow(first=first, last=last, counts=counts)


def _window(last, first=None):
    """The moments of the Beijing days from ``first`` (default: CHART_DAYS before) to ``last``: [start, end)."""
    first = first or last - dt.timedelta(days=CHART_DAYS - 1)
    return (
        timezone.make_aware(dt.datetime.combine(first, dt.time.min)),
        timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min)),
    )


def _daily_counts(articles, last, first=None):
    start, end = _window(last, first)
    rows = (
        articles.filter(published_at__gte=start, published_at__lt=end)
        .annotate(day=TruncDate("published_at"))
        .order_by()
        .values_list("day")
        .annotate(count=Count("id"))
    )
    return dict(rows)


def mentioned_with(stock, flow):
    """The stocks most often mentioned in the same articles as ``stock`` in the days its ``flow``
    draws, with counts."""
    if flow is None:
        return []
    return _kept("with", stock.pk, lambda: _mentioned_with(stock, flow.last))


def _mentioned_with(stock, last):
    # Bounded by the chart's days, not by a number of its newest articles: a date range is what the
    # article index serves, where "its newest" would walk every article back to its oldest mention.
    start, end = _window(last)
    mentioning = Article.objects.published().filter(stocks=stock, published_at__gte=start, published_at__lt=end)
    ranked = (
        Article.stocks.through.objects.filter(article_id__in=mentioning.values("id"))
        .exclude(stockreference=stock)
        .values_list("stockreference")
        .annotate(count=Count("id"))
        .order_by("-count", "stockreference")[:RELATED_STOCKS]
    )
    return _with_stocks(list(ranked))


def hot_stocks():
    """(until, [(stock, count)]): the stocks most mentioned in published articles of the 24 hours
    until now; when those had none, of the 24 hours until the latest article."""
    return _kept("hot", 0, _hot_stocks)


def _hot_stocks():
    return hot_stocks_before(timezone.now())


def hot_stocks_before(until):
    """(end, [(stock, count)]): the stocks most mentioned in published articles of the 24 hours
    before ``until`` (end: ``until``); when those had none, of the 24 hours up to the latest
    article before it (end: its time). (None, []) when there is none."""
    published = Article.objects.published().filter(published_at__lt=until)
    latest = published.values_list("published_at", flat=True).order_by("-published_at").first()
    if latest is None:
        return None, []
    end = until if latest > until - HOT_WINDOW else latest
    return end, most_mentioned(published.filter(published_at__gt=end - HOT_WINDOW, published_at__lte=end))


def most_mentioned(articles):
    """[(stock, count)]: the HOT_STOCKS stocks most mentioned in ``articles`` (a queryset bounded by
    dates), most first (two queries)."""
    ranked = (
        Article.stocks.through.objects.filter(article_id__in=articles.values("id"))
        .values_list("stockreference")
        .annotate(count=Count("id"))
        .order_by("-count", "stockreference")[:HOT_STOCKS]
    )
    return _with_stocks(list(ranked))


def _with_stocks(ranked):
    """[(StockReference, count)] for [(stock id, count)], in that order."""
    stocks = StockReference.objects.in_bulk([pk for pk, _ in ranked])
    return [(stocks[pk], count) for pk, count in ranked if pk in stocks]
