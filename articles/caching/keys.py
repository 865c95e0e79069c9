"""Surrogate keys: what each public page depends on, and what each change affects.

A page names the keys of what it shows (``depends_on``, called by the views); a change names the
keys it affects (``article_change``, ``topic_change``, from articles/publishing.py), purged from
Varnish (xkey) once its transaction commits. A page is out of date exactly when one of its keys
was purged after it was rendered.

- ``a<id>``: an article wherever it is shown: its page, and every list or link with its title.
- ``c<id>``, ``t<id>``, ``s<id>``: a category's, tag's or stock's name and address, wherever shown.
- ``cl<id>``, ``tl<id>``, ``sl<id>``: which articles a category, tag or stock has (its pages, its
  feed, its news flow).
- ``d2022``, ``d202205``, ``d20220531``: a year's, a month's, a day's archive.
- ``rt<tag>-<day>``, ``rs<stock>-<day>``: an article's related news is drawn from the articles
  sharing a tag or stock in the days around it, so its page holds one key per tag or stock and
  day of that window, and a change purges its own day's.
- ``n<category>-<day>``, ``cn<category>``, ``co<category>``: an article's previous and next links
  change when an article arrives between them: its page holds the keys of the days from its
  previous one's to its next one's (``nm<category>-<month>``, months, over a long gap), or ``cn``
  (``co``) when it is the newest (oldest) of its category; a change purges its own day's and
  month's and ``cn``, and ``co`` when it becomes the oldest.
- ``today``: times read relative to the day (今天 15:02, 昨天 09:30): changed by midnight
  (moments.py), named only by pages that show such a time.
- ``hour``, ``hot``, ``hq``, ``cb<category>-<day>``, ``sp<stock>``: an article page's side column is a
  snapshot as of the start of the hour (site/aside.py), so posts of the current hour change no
  page: ``hour`` is named by each hour's moment (moments.py); a change of an article published
  before the current hour names, when it is of the snapshot's days, ``sp`` of its stocks (30
  days), ``cb`` of its category and day (7 days) and ``hot`` (24 hours, with stocks), and ``hq``.
  A quiet site's or category's page, whose column reaches further back, names ``hq`` (any change
  before the hour) or ``cq<category>`` (any change of the category's before the hour).
- ``channels``: which categories the header shows as channels (and in what order): every page
  holds it, with each channel's ``c<id>``.
- ``site``: what any public article changes: the home page, the site feed, the category and
  archive indexes, the sitemap, search.
- ``home``: the home page alone: what the desk pins there (头条, 要闻), and the end of a pin.
- ``all``: every page (``manage.py purge_cache`` after a deploy that changes templates).
"""

import contextlib
import contextvars
import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone

from articles.months import months_between, next_month
from articles.validators import is_publication_time

SITE = "site"
HOME = "home"
ALL = "all"
TODAY = "today"
HOUR = "hour"
HOT = "hot"
# 热门股票 of a quiet site, which reaches back to the latest article before the hour: any change before it.
HOT_QUIET = "hq"
# What the side column of an article page counts, before the current hour: its stocks' news flow,
# the latest of its category, 热门股票.
FLOW_DAYS = 30
LATEST_DAYS = 7
HOT_HOURS = 24
CHANNELS = "channels"
# How many days (then months) between an article and its neighbours its page names; past that,
# it holds its category's list key.
MOST_DAYS_NAMED = 100
# What a key may hold: Varnish's xkey splits its header on spaces and commas.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def article(pk):
    return f"a{pk}"


def category(pk):
    return f"c{pk}"


def tag(pk):
    return f"t{pk}"


def stock(pk):
    return f"s{pk}"


def category_list(pk):
    return f"cl{pk}"


def tag_list(pk):
    return f"tl{pk}"


def stock_list(pk):
    return f"sl{pk}"


def category_before_hour(pk, day):
    return f"cb{pk}-{day:%Y%m%d}"


def quiet_category_before_hour(pk):
    return f"cq{pk}"


def stock_before_hour(pk):
    return f"sp{pk}"


def hour_start(moment):
    """The start of the hour of ``moment`` (an aware datetime)."""
    return moment.replace(minute=0, second=0, microsecond=0)


def before_the_hour(state, now):
    """The keys of the side-column snapshots (as of the start of the hour of ``now``) that an
    article's ``state`` is counted in: none for an article of this hour, or older than they count."""
    hour = hour_start(now)
    if not state.published or state.published_at >= hour:
        return set()
    age = hour - state.published_at
    found = {HOT_QUIET, quiet_category_before_hour(state.category_id)}
    if age <= dt.timedelta(days=FLOW_DAYS):
        found.update(stock_before_hour(pk) for pk in state.stock_ids)
    if age <= dt.timedelta(days=LATEST_DAYS):
        found.add(category_before_hour(state.category_id, timezone.localdate(state.published_at)))
    if state.stock_ids and age <= dt.timedelta(hours=HOT_HOURS):
        found.add(HOT)
    return found


def archive(year, month=None, day=None):
    return "d" + "".join(f"{part:02}" for part in (year, month, day) if part is not None)


def _day(moment):
    return timezone.localdate(moment).strftime("%Y%m%d")


def related(published_at, tag_ids, stock_ids, window):
    """The keys of the related news an article published at ``published_at`` may show (none for a
    time outside the publication range, written around the write path: it shows no related news)."""
    if not is_publication_time(published_at):
        return []
    days = [
        f"{day:%Y%m%d}"
        for day in _days(timezone.localdate(published_at - window), timezone.localdate(published_at + window))
    ]
    return [f"rt{pk}-{day}" for pk in tag_ids for day in days] + [f"rs{pk}-{day}" for pk in stock_ids for day in days]


def entering_related(published_at, tag_ids, stock_ids):
    """The keys of the related news that an article published at ``published_at`` enters."""
    day = _day(published_at)
    return [f"rt{pk}-{day}" for pk in tag_ids] + [f"rs{pk}-{day}" for pk in stock_ids]


def neighbourhood(category_id, published_at, previous, following):
    """The keys of an article's previous and next links (``previous``, ``following``: articles or None)."""
    first = timezone.localdate(previous.published_at) if previous else None
    last = timezone.localdate(following.published_at) if following else None
    edges = [f"co{category_id}"] if first is None else []
    edges += [f"cn{category_id}"] if last is None else []
    first, last = first or timezone.localdate(published_at), last or timezone.localdate(published_at)
    if (last - first).days <= MOST_DAYS_NAMED:
        return [*edges, *(f"n{category_id}-{day:%Y%m%d}" for day in _days(first, last))]
    # A long gap (a quiet category, old news): the whole months inside it by month.
    first_whole, last_whole = next_month(first), last.replace(day=1)
    inside = months_between(first_whole, last_whole)
    if len(inside) > MOST_DAYS_NAMED:
        return [*edges, category_list(category_id)]
    ends = [*_days(first, first_whole - dt.timedelta(days=1)), *_days(last_whole, last)]
    return [
        *edges,
        *(f"n{category_id}-{day:%Y%m%d}" for day in ends),
        *(f"nm{category_id}-{month:%Y%m}" for month in inside),
    ]


def _days(first, last):
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def listed(articles):
    """What a list item shows: the article (title, time, summary), its category, its story's address."""
    keys = set()
    for item in articles:
        keys.update((article(item.pk), category(item.category_id)))
        if item.story_id:
            keys.add(article(item.story_id))
    return keys


# The keys of the response being made, collected while its request is served (see collecting()).
_collected = contextvars.ContextVar("surrogate_keys")


@contextlib.contextmanager
def collecting():
    """Collect what depends_on() names while a response is made; yields the set."""
    collected = set()
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


def depends_on(*keys):
    """Record that the response being made shows what ``keys`` name (outside a request: nothing)."""
    collected = _collected.get(None)
    if collected is not None:
        collected.update(keys)


@dataclass(frozen=True)
class ArticleState:
    """What of an article decides which pages show it, before or after a change."""

    pk: int
    category_id: int
    story_id: int | None
    published_at: dt.datetime
    # Published, now or at a time to come: the keys of a scheduled article are purged when it is
    # saved, and pages holding them are kept only until its time (moments.py).
    published: bool
    tag_ids: frozenset
    stock_ids: frozenset

    @classmethod
    def of(cls, article, tag_ids, stock_ids):
        from articles.models import Article

        return cls(
            article.pk,
            article.category_id,
            article.story_id,
            article.published_at,
            article.status == Article.Status.PUBLISHED,
            frozenset(tag_ids),
            frozenset(stock_ids),
        )


def stored_states(article_ids):
    """The states of ``article_ids`` as stored (three queries)."""
    from articles.models import Article, TaggedArticle

    ids = list(article_ids)
    tags, stocks = {}, {}
    for article_id, tag_id in TaggedArticle.objects.filter(content_object_id__in=ids).values_list(
        "content_object_id", "tag_id"
    ):
        tags.setdefault(article_id, set()).add(tag_id)
    for article_id, stock_id in Article.stocks.through.objects.filter(article_id__in=ids).values_list(
        "article_id", "stockreference_id"
    ):
        stocks.setdefault(article_id, set()).add(stock_id)
    fields = ("pk", "category_id", "story_id", "status", "published_at")
    return [
        ArticleState.of(Article(**dict(zip(fields, row, strict=True))), tags.get(row[0], ()), stocks.get(row[0], ()))
        for row in Article.objects.filter(pk__in=ids).values_list(*fields)
    ]


def article_change(before=(), after=()):
    """The keys that a change of articles affects, given their states before and after it.

    A draft is on no public page: only its own key is named. A published one (or one scheduled)
    is on its lists, its archives, the related news of the articles around it, and beside its
    neighbours in its category. Pages that showed it before hold its own key. Whether it became
    the oldest of its category needs a query: became_oldest(), once the change is committed.
    """
    keys, now = set(), timezone.now()
    for state in [*before, *after]:
        keys.add(article(state.pk))
        keys.update(before_the_hour(state, now))
        if state.story_id:
            keys.add(article(state.story_id))
        if not state.published:
            continue
        keys.update((SITE, category_list(state.category_id), f"cn{state.category_id}"))
        try:
            day = timezone.localdate(state.published_at)
        except OverflowError:
            # A time written around the write path (SQL) beyond what local time holds (year 9999
            # + 8 h): on no archive or day's page, so no day's keys.
            continue
        keys.update((archive(day.year), archive(day.year, day.month)))
        keys.add(archive(day.year, day.month, day.day))
        keys.update(tag_list(pk) for pk in state.tag_ids)
        keys.update(stock_list(pk) for pk in state.stock_ids)
        keys.update(entering_related(state.published_at, state.tag_ids, state.stock_ids))
        month = timezone.localdate(state.published_at).strftime("%Y%m")
        keys.update((f"n{state.category_id}-{_day(state.published_at)}", f"nm{state.category_id}-{month}"))
    return keys


def became_oldest(after):
    """The ``co`` keys of the categories where one of the states ``after`` a change is now the
    oldest published article (the page of the one that was loses its place at the end).

    A query per category, not per article: the earliest of a category's states is the one to
    look for, as an article older than it is older than all the others.
    """
    from articles.models import Article

    earliest = {}
    for state in after:
        known = earliest.get(state.category_id)
        if state.published and (known is None or (state.published_at, state.pk) < (known.published_at, known.pk)):
            earliest[state.category_id] = state
    return {
        f"co{category_id}"
        for category_id, state in earliest.items()
        if not Article.objects.published()
        .filter(category_id=category_id)
        .older_than(state.published_at, state.pk)
        .exists()
    }


def topic_change(topic):
    """A category, tag or stock renamed, moved or deleted: its pages, and every page showing its name."""
    from articles.models import Category, Tag

    name, members = {Category: (category, category_list), Tag: (tag, tag_list)}.get(type(topic), (stock, stock_list))
    # A category that is a channel now enters every page's header (one that was one is named there by
    # its own key).
    channel = isinstance(topic, Category) and topic.channel_position is not None
    return {name(topic.pk), members(topic.pk), SITE, *([CHANNELS] if channel else [])}
