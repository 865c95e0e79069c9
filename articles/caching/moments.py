"""Changes that happen at a time, without a write: one mechanism for all of them.

A scheduled article comes due; a pin (头条/要闻) expires; midnight turns 今天 into 昨天. Nobody writes,
yet some pages change. Each such kind of change is a *source* of moments: a function that, given
``now`` (an aware datetime), yields the ``Moment``s still to come, soonest first, each with the
surrogate keys (keys.py) of the pages that change at it::

    from articles.caching import keys, moments

    @moments.source
    def pins_ending(now):
        rows = Article.objects.filter(pin__isnull=False, pinned_until__gt=now).order_by("pinned_until")
        for until in rows.values_list("pinned_until", flat=True)[: moments.LIMIT + 1]:
            yield moments.Moment.at_time(until, {keys.HOME})

Register sources at start-up (a module imported by ``AppConfig.ready``). The contract:

- a source may query the database: sources are read after each write commits (where the change
  happens, caching._flush) and when the cache lost them, never on the way of an ordinary request;
- it yields moments in time order; only the first LIMIT + 1 are read, so an endless source
  (midnights) is fine; when a source has more than LIMIT, its LIMIT-th moment is when the list is
  read again;
- what it yields is all it must do: the content version counts the moments passed (so the page
  cache, ETags, Last-Modified and everything computed per version are fresh after each), and a
  page tells shared caches (Varnish) to keep it no longer than the next moment that names one of
  its keys (``keys.ALL`` names every page).
"""

import datetime as dt
import itertools
from dataclasses import dataclass

from django.utils import timezone

from . import keys

# The moments read from each source at a time: the list is read again when the LIMIT-th passes.
LIMIT = 100
SOURCES = []


@dataclass(frozen=True, order=True)
class Moment:
    """A time (Unix seconds) at which the pages holding one of ``keys`` change by themselves."""

    at: float
    keys: frozenset

    @classmethod
    def at_time(cls, moment, affected):
        """The Moment of ``moment`` (an aware datetime) changing the pages of ``affected`` keys."""
        return cls(moment.timestamp(), frozenset(affected))

    def affects(self, page_keys):
        return keys.ALL in self.keys or not self.keys.isdisjoint(page_keys)


def source(function):
    """Register ``function(now)`` as a source of moments (see the module's docstring)."""
    SOURCES.append(function)
    return function


def upcoming(now=None):
    """(moments after ``now``, soonest first; when to read them again, Unix seconds, or None)."""
    now = now or timezone.now()
    found, read_again = [], None
    for function in SOURCES:
        taken = list(itertools.islice(function(now), LIMIT + 1))
        if len(taken) > LIMIT:
            taken = taken[:LIMIT]
            read_again = min(read_again or taken[-1].at, taken[-1].at)
        found.extend(taken)
    return tuple(sorted(found)), read_again


@source
def scheduled_articles(now):
    """A published article whose time is to come appears at it: on the pages its arrival changes."""
    from articles.models import Article

    due = Article.objects.scheduled().order_by("published_at", "id").values_list("pk", flat=True)[: LIMIT + 1]
    states = sorted(keys.stored_states(list(due)), key=lambda state: (state.published_at, state.pk))
    for state in states:
        # The newest of its category when it comes due: the key of its oldest is not needed.
        yield Moment.at_time(state.published_at, keys.article_change(after=[state]))


@source
def midnights(now):
    """Each Beijing midnight turns 今天 into 昨天 and 昨天 into a date: on the pages showing them."""
    day = timezone.localdate(now)
    while True:
        day += dt.timedelta(days=1)
        yield Moment.at_time(timezone.make_aware(dt.datetime.combine(day, dt.time.min)), {keys.TODAY})


@source
def hours(now):
    """Each hour the article pages' side columns (site/aside.py: a snapshot as of the hour) move on."""
    hour = keys.hour_start(now)
    while True:
        hour += dt.timedelta(hours=1)
        yield Moment.at_time(hour, {keys.HOUR})


@source
def pins_ending(now):
    """A pin (头条, 要闻) given an end drops off the home page then, by itself (publishing.pin_article)."""
    from articles.models import Article

    ends = (
        Article.objects.filter(pin__isnull=False, pinned_until__gt=now)
        .order_by("pinned_until")
        .values_list("pinned_until", flat=True)[: LIMIT + 1]
    )
    for until in ends:
        yield Moment.at_time(until, {keys.HOME})
