"""The side column of an article page: its stocks with their news flow, 热门股票 and the latest of
its category, as a snapshot as of the start of the hour.

"As of now" would change with every new post: every article page mentioning a busy stock, or in
a busy category, would leave the front cache every few minutes. As of the hour, a page changes
when the hour turns (the moment ``hour``: caching/moments.py) or when a change reaches back into
the snapshot's days (keys.before_the_hour: ``hot``, ``cb<category>-<day>``, ``sp<stock>``), and never
for the posts of the current hour, which the snapshot leaves out by definition. Each part is
computed once per content version and kept (a few queries bounded by dates or counts).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString

from articles.caching import VERSION_FACTS_SECONDS, current_version, keys, version_facts
from articles.models import Article

from .charts import most_mentioned

LATEST_COUNT = 5
# Bars of SPARK_BAR wide in a viewBox SPARK_HEIGHT high, one per day of the snapshot.
SPARK_BAR, SPARK_HEIGHT = 3, 20
ASIDE_KEY = "finews:aside:{version}:{hour}:{part}"


@dataclass
class Sparkline:
    """Articles per Beijing day of a stock over the snapshot's days, oldest first."""

    first: dt.date
    counts: list

    @property
    def total(self):
        return sum(self.counts)

    @property
    def width(self):
        return len(self.counts) * SPARK_BAR

    @property
    def height(self):
        return SPARK_HEIGHT

    @property
    def last(self):
        return self.first + dt.timedelta(days=len(self.counts) - 1)

    @property
    def bars(self):
        """(x, y, height) of each day with news."""
        top = max(self.counts) or 1
        return [
            (index * SPARK_BAR, SPARK_HEIGHT - SPARK_HEIGHT * count / top, SPARK_HEIGHT * count / top)
            for index, count in enumerate(self.counts)
            if count
        ]

    @property
    def drawing(self):
        """The bars as SVG ``<rect>`` markup (numbers only): built here, as a template loop over
        a month of bars cost about 1 ms per stock chip of every article page."""
        return SafeString(
            "".join(f'<rect x="{x}" y="{y:.2f}" width="2" height="{height:.2f}"/>' for x, y, height in self.bars)
        )


@dataclass
class Aside:
    """The side column's parts, with what keys the markup drawn from them (article_detail.html
    keeps it with Django's {% cache %} tag for ``seconds``): ``hot_key`` names the version and
    hour 热门股票 is of; ``stocks_key`` also the article's stocks in their order, whose chips and
    news flow depend on nothing else. Drawn once, not on every article page (about 2 ms of each)."""

    until: dt.datetime
    flows: dict
    hot: list
    latest: list
    hot_key: str
    stocks_key: str
    seconds: int = VERSION_FACTS_SECONDS


def aside(article, stocks):
    """The Aside of ``article`` (its ``stocks``) as of the current hour; names the page's keys."""
    until = keys.hour_start(timezone.now())
    since = until - dt.timedelta(days=keys.FLOW_DAYS)
    hour = int(until.timestamp())
    stock_ids = sorted(stock.pk for stock in stocks)

    def kept(part, compute):
        key = ASIDE_KEY.format(version=current_version(), hour=hour, part=part)
        return version_facts(key, compute)

    # Built only when a part is computed: building the querysets cost more than reading the parts.
    def snapshot():
        return Article.objects.published().filter(published_at__gte=since, published_at__lt=until)

    flows = kept(f"flows:{','.join(map(str, stock_ids))}", lambda: _flows(snapshot(), stock_ids, since, until))
    hot = kept(
        "hot", lambda: most_mentioned(snapshot().filter(published_at__gte=until - dt.timedelta(hours=keys.HOT_HOURS)))
    )
    latest_since = until - dt.timedelta(days=keys.LATEST_DAYS)
    latest = kept(
        f"latest:{article.category_id}",
        lambda: list(
            Article.objects.listed()
            .filter(category_id=article.category_id, published_at__gte=latest_since, published_at__lt=until)
            .order_by("-published_at", "-id")[:LATEST_COUNT]
        ),
    )
    # An article arriving between the oldest of them (or the window's start) and the hour enters.
    entered_since = latest[-1].published_at if len(latest) == LATEST_COUNT else latest_since
    latest = [item for item in latest if item.pk != article.pk]
    keys.depends_on(
        keys.HOUR,
        keys.HOT,
        *(
            keys.category_before_hour(article.category_id, day)
            for day in _days(timezone.localdate(entered_since), timezone.localdate(until))
        ),
        *(keys.stock_before_hour(pk) for pk in stock_ids),
        *(keys.stock(stock.pk) for stock, _ in hot),
        *keys.listed(latest),
    )
    hot_key = f"{current_version()}:{hour}"
    stocks_key = f"{hot_key}:{','.join(str(stock.pk) for stock in stocks)}"
    return Aside(until=until, flows=flows, hot=hot, latest=latest, hot_key=hot_key, stocks_key=stocks_key)


def _days(first, last):
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _flows(snapshot, stock_ids, since, until):
    """{stock id: Sparkline} of ``stock_ids`` over the snapshot's days (one query)."""
    if not stock_ids:
        return {}
    rows = (
        Article.stocks.through.objects.filter(stockreference_id__in=stock_ids, article_id__in=snapshot.values("id"))
        .annotate(day=TruncDate("article__published_at"))
        .order_by()
        .values_list("stockreference_id", "day")
        .annotate(count=Count("id"))
    )
    first, last = timezone.localdate(since), timezone.localdate(until - dt.timedelta(microseconds=1))
    days = (last - first).days + 1
    counts = {pk: [0] * days for pk in stock_ids}
    for pk, day, count in rows:
        if first <= day <= last:
            counts[pk][(day - first).days] = count
    return {pk: Sparkline(first, day_counts) for pk, day_counts in counts.items()}
