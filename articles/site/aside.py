"""The side column of an article page: its stocks with their news flow, 热门股票 and the latest of
its category, as a snapshot as of the start of the hour.

"As of now" would change with every new post: every article page mentioning a busy stock, or in
a busy category, would leave the front cache every few minutes. As of the hour, a page changes
when the hour turns (the moment ``hour``: caching/moments.py) or when a change reaches back into
the snapshot's days (keys.before_the_hour: ``hot``, ``cb<category>-<day>``, ``sp<stock>``), and never
for the posts of the current hour, which the snapshot leaves out by definition. Each part is
computed once per content version and kept (a few queries bounded by dates or counts).

A quiet site or category still shows them: 热门股票 then counts the 24 hours up to the latest
article before the hour, as the home page does, and the latest of a category reach back before
LATEST_DAYS; such a page names ``hq`` and ``cq<category>``: any change before the hour, of the site's
or the category's (few, as they are quiet). A post of the current hour, as on a busy site, waits for
the hour to turn.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString

from articles.caching import VERSION_FACTS_SECONDS, current_version, keys, version_facts
from articles.models import Article

from .charts import hot_stocks_before

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
    hot_until: dt.datetime
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
    # "hot-until": its value became (end, list) from a list; a deploy keeps the version's keys.
    hot_until, hot = kept("hot-until", lambda: hot_stocks_before(until))
    latest_since = until - dt.timedelta(days=keys.LATEST_DAYS)
    latest = kept(f"latest:{article.category_id}", lambda: _latest(article.category_id, latest_since, until))
    keys.depends_on(
        keys.HOUR,
        *_hot_keys(hot_until == until and bool(hot)),
        *_latest_keys(article.category_id, latest, latest_since, until),
        *(keys.stock_before_hour(pk) for pk in stock_ids),
        *(keys.stock(stock.pk) for stock, _ in hot),
    )
    latest = [item for item in latest if item.pk != article.pk]
    keys.depends_on(*keys.listed(latest))
    hot_key = f"{current_version()}:{hour}"
    stocks_key = f"{hot_key}:{','.join(str(stock.pk) for stock in stocks)}"
    return Aside(
        until=until, flows=flows, hot_until=hot_until, hot=hot, latest=latest, hot_key=hot_key, stocks_key=stocks_key
    )


def _hot_keys(counted_before_the_hour):
    """What 热门股票 depends on: a change with stocks of the 24 hours before the hour (``hot``)
    when it counts mentions of those; else (a quiet site: it reaches back to the latest article,
    or shows none) any change before the hour (``hq``)."""
    return [keys.HOT] if counted_before_the_hour else [keys.HOT_QUIET]


def _latest(category_id, since, until):
    """The LATEST_COUNT latest listed of the category before ``until``: those since ``since``, and
    when fewer, the latest ones before it (a second query, for a quiet category only)."""
    listed = Article.objects.listed().filter(category_id=category_id).order_by("-published_at", "-id")
    latest = list(listed.filter(published_at__gte=since, published_at__lt=until)[:LATEST_COUNT])
    if len(latest) < LATEST_COUNT:
        latest += listed.filter(published_at__lt=since)[: LATEST_COUNT - len(latest)]
    return latest


def _latest_keys(category_id, latest, since, until):
    """What the latest of a category depends on: an article arriving between the oldest of them and
    the hour enters, so the days from its day to the hour's (``cb``) when they all fall in the
    LATEST_DAYS; else (a quiet category, which changes rarely) any change of its before the hour."""
    if len(latest) == LATEST_COUNT and latest[-1].published_at >= since:
        days = _days(timezone.localdate(latest[-1].published_at), timezone.localdate(until))
        return [keys.category_before_hour(category_id, day) for day in days]
    return [keys.quiet_category_before_hour(category_id)]


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
