"""What a write changes, told to the caches once per transaction; the content version.

**The effects of a write.** Every change of what readers see goes through articles/publishing.py,
which writes the search index in the change's own transaction (what is committed is searchable)
and names the surrogate keys the change affects (keys.py) with ``content_changed(keys)``. The keys
of a transaction are gathered and, once it commits, flushed once (10 imported posts in one batch:
one flush):

1. the content version moves on (one Redis INCR) and the moments to come are read again
   (moments.py): the page cache, ETags, Last-Modified and what is computed per version (list
   counts, deep-page anchors, charts, the home page's lists) all belong to a version;
2. the keys go to the purge sender (front.py), which purges every Varnish from a thread of its
   own: no write waits on a front cache.

**The content version** (``content_version()``) is a read: one get_many, no query, no write (but
to fill the cache when it lost the record). It is the number of flushes so far and the moments
passed since the last one (a scheduled article coming due changes it without any write), with a
Last-Modified time that moves on with it, second by second. The record of the moments is read by
its stamp: each process keeps the records it has read, so a request unpickles none unless a flush
wrote a new one.
"""

import collections
import contextlib
import contextvars
import dataclasses
import datetime as dt
import logging
import math
import threading
import time
import uuid

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import RunPython, RunSQL
from django.utils import timezone
from django.views.decorators.http import condition

from finews import replicas

from . import front, keys, moments

logger = logging.getLogger(__name__)

NUMBER_KEY = "finews:content-version"
RECORD_KEY = "finews:content-record"
# Names the record now in RECORD_KEY: written with it, read instead of it (content_version()).
STAMP_KEY = "finews:content-record-stamp"
VERSION_KEYS = [NUMBER_KEY, STAMP_KEY]
# How many records each process keeps by stamp: the current one and those a flush just replaced.
RECORDS_IN_PROCESS = 4
# How long the facts kept per content version (list counts, anchors) may stay in the cache; they
# are keyed by version, so this bounds memory, not staleness.
VERSION_FACTS_SECONDS = 600
# How many such facts each process also keeps as objects (version_facts()): bounds its memory.
VERSION_FACTS_IN_PROCESS = 1000


@dataclasses.dataclass(frozen=True)
class ContentVersion:
    """What readers may see now, as a value: ``str()`` of it keys what is computed per version."""

    # Flushes so far: X-Announced on pages and purges (front.py).
    number: int
    # Moments passed since the last flush.
    passed: int
    # Last-Modified, in Unix seconds: a later version always has a later one.
    last_modified: int
    # Moments still to come, soonest first.
    upcoming: tuple

    def __str__(self):
        return f"{self.number}.{self.passed}"

    @property
    def etag(self):
        return f'W/"{self}"'

    def next_change(self, page_keys=None):
        """Unix seconds of the next moment that changes a page of ``page_keys`` (any page: None)."""
        for moment in self.upcoming:
            if page_keys is None or moment.affects(page_keys):
                return moment.at
        return None


@dataclasses.dataclass(frozen=True)
class _Record:
    """What the last flush (or cache fill) wrote beside the number: its moments and Last-Modified."""

    number: int
    last_modified: int
    moments: tuple
    read_again: float | None
    # Unique to this write of the record (STAMP_KEY).
    stamp: str

    def version(self, now):
        passed = [moment for moment in self.moments if moment.at <= now]
        last_modified = self.last_modified
        if passed:
            last_modified = max(last_modified + len(passed), math.ceil(passed[-1].at))
        upcoming = self.moments[len(passed) :]
        return ContentVersion(self.number, len(passed), last_modified, upcoming)


def content_version(read=None):
    """The ContentVersion now (see the module's docstring); ``read``: a get_many() that included
    VERSION_KEYS (the page cache reads the page in the same round trip)."""
    read = cache.get_many(VERSION_KEYS) if read is None else read
    number = read.get(NUMBER_KEY)
    if number is None:
        number = cache.get_or_set(NUMBER_KEY, _clock_number, timeout=None)
    # What is computed from here on is kept under this version: its data must include it.
    replicas.saw_announcement(number)
    record, now = _record(read.get(STAMP_KEY)), timezone.now().timestamp()
    if record is None or record.number != number or (record.read_again and now >= record.read_again):
        record = _write_record(number, record)
    return record.version(now)


def _record(stamp):
    """The record ``stamp`` names: this process's copy, else the cache's (None: lost).

    Unpickling the record (its moments: hundreds of objects) took 0.3 ms of every request; a
    record is never changed under its stamp, so the process's copy is as good as the cache's.
    """
    if stamp is None:
        return None
    kept = _records_in_process.get_many([stamp])
    if stamp in kept:
        return kept[stamp]
    record = cache.get(RECORD_KEY)
    # A flush may have written a newer record since the stamp was read: used, not kept under it.
    if record is not None and record.stamp == stamp:
        _records_in_process.keep({stamp: record}, RECORDS_IN_PROCESS)
    return record


class ProcessCopies:
    """Values kept as the very objects in this process, by key, the most recently used staying:
    for keys that name all a value depends on (a content version's facts, a list item by all it
    shows), so a copy here is as good as the cache's and skips unpickling it. Shared by the
    process's threads: callers read the values, never change them."""

    def __init__(self):
        self._values = collections.OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys):
        """{key: value} of those of ``keys`` kept here."""
        with self._lock:
            found = {key: self._values[key] for key in keys if key in self._values}
            for key in found:
                self._values.move_to_end(key)
        return found

    def clear(self):
        with self._lock:
            self._values.clear()

    def keep(self, values, limit):
        """Keep ``values`` ({key: value}), then forget the least recently used beyond ``limit``."""
        with self._lock:
            for key, value in values.items():
                self._values[key] = value
                self._values.move_to_end(key)
            while len(self._values) > limit:
                self._values.popitem(last=False)


_in_process = ProcessCopies()
_records_in_process = ProcessCopies()


def forget_process_copies():
    """Forget what this process keeps beside the cache (version facts, records), as a cache.clear()
    does not: the tests' clean start. A content version's number is never used twice by one
    counter, but a test's counter starts again from a clock it may have moved."""
    _in_process.clear()
    _records_in_process.clear()


def version_facts(key, compute):
    """What ``compute()`` returns, kept under ``key`` (a cache key that names the content version:
    current_version()) in the cache for VERSION_FACTS_SECONDS and, as the very object, in this
    process for its VERSION_FACTS_IN_PROCESS most recently used keys.

    A version's facts never change, so the copy in the process is as good as the cache's, and
    skips unpickling model instances on every request (about 0.5 ms of an article page). The
    object is shared by this process's requests: callers read it, never change it.
    """
    kept = _in_process.get_many([key])
    if key in kept:
        return kept[key]
    value = cache.get_or_set(key, compute, VERSION_FACTS_SECONDS)
    _in_process.keep({key: value}, VERSION_FACTS_IN_PROCESS)
    return value


# The version the public request being served is answered in (see answering()).
_answering = contextvars.ContextVar("content_version")


def current_version():
    """The content version as text, for keys of what is computed per version: the one a public
    request is answered in (answering()), else read now."""
    version = _answering.get(None)
    return str(version if version is not None else content_version())


@contextlib.contextmanager
def answering(version):
    """Compute per ``version`` (a ContentVersion) while a request is answered in it: one read of
    the version per request (the record's moments are several KB to unpickle: six reads were 8 ms
    of an article page), and what the page shows is of the version its ETag names, even when a
    write commits while it renders."""
    token = _answering.set(version)
    try:
        yield
    finally:
        _answering.reset(token)


def request_version(request):
    """The ContentVersion a request is answered in: read once per request."""
    if not hasattr(request, "content_version"):
        request.content_version = content_version()
    return request.content_version


def version_etag(request, *args, **kwargs):
    """The one ETag of every public read (pages, feeds, the API): its content version."""
    return request_version(request).etag


def version_last_modified(request, *args, **kwargs):
    """The one Last-Modified of every public read: when its content version began."""
    return dt.datetime.fromtimestamp(request_version(request).last_modified, tz=dt.UTC)


def conditional(view):
    """``view`` answering conditional requests by the content version (Django's condition()):
    If-None-Match and If-Modified-Since get a 304 before anything is read or rendered."""
    return condition(etag_func=version_etag, last_modified_func=version_last_modified)(view)


def _clock_number():
    # A lost counter must not restart at a number already used: from the clock, in milliseconds.
    return time.time_ns() // 1_000_000


def _write_record(number, previous):
    """Read the moments to come and keep them with ``number``; Last-Modified moves on past ``previous``."""
    now = timezone.now().timestamp()
    last_modified = math.floor(now)
    if previous is not None:
        last_modified = max(last_modified, previous.version(now).last_modified + 1)
    found, read_again = moments.upcoming(dt.datetime.fromtimestamp(now, tz=dt.UTC))
    record = _Record(number, last_modified, found, read_again, uuid.uuid4().hex)
    # One MSET: a reader never finds a stamp naming another record than the one beside it.
    cache.set_many({RECORD_KEY: record, STAMP_KEY: record.stamp}, timeout=None)
    return record


# The keys of the transaction being written, flushed once it commits (see content_changed()).
_pending = threading.local()


def content_changed(affected, after=()):
    """Queue the surrogate keys ``affected`` by the current transaction (at once outside one),
    and the states (keys.ArticleState) of the articles ``after`` it, of which those that are now
    their category's oldest name its ``co`` key once it commits (keys.became_oldest: an import
    batch of a hundred posts asks once per category, not once per post).

    Every call registers the flush, so that a savepoint rolled back never loses another one's
    keys; the first flush to run after the commit takes them all, the others find nothing. Keys
    queued by a transaction that rolled back are flushed with the next commit (a purge too many
    costs a render; one too few would leave a stale page).
    """
    queued = getattr(_pending, "keys", None)
    if queued is None:
        queued = _pending.keys = set()
    queued.update(affected)
    _pending.states = [*getattr(_pending, "states", ()), *after]
    transaction.on_commit(_flush)


def _flush():
    affected, _pending.keys = getattr(_pending, "keys", None) or set(), set()
    states, _pending.states = getattr(_pending, "states", ()), []
    if states:
        affected |= _became_oldest(states)
    if affected:
        announce(affected)


def _became_oldest(states):
    """keys.became_oldest(states); when the database cannot tell (the write is committed, the
    connection lost since), every such key: a purge too many costs a render, one too few a stale page."""
    try:
        return keys.became_oldest(states)
    except DatabaseError:
        logger.exception("could not tell which categories have a new oldest article; purging them all")
        return {f"co{state.category_id}" for state in states if state.published}


def announce(affected):
    """Move the content version on and hand ``affected`` keys to the purge sender (front.py).

    For what is not a write in a transaction: ``manage.py purge_cache``. Malformed keys are
    logged and left out. Returns the ContentVersion's number sent with the purge.
    """
    affected = front.valid_keys(affected)
    if not affected:
        return None
    number = _next_number()
    if number is not None:
        record = cache.get(RECORD_KEY)
        _write_record(number, record)
    # While Redis is unreachable the purge carries no number (0): Varnish keeps no page begun
    # before the newest number it was told, and one only this process knows would make it keep none.
    front.purge(affected, number or 0)
    return number


def announce_migrated_content(sender, plan=None, using=DEFAULT_DB_ALIAS, **kwargs):
    """post_migrate receiver: when ``plan`` (``[(Migration, backwards), …]``, Django's migrate
    executor) ran a data migration of this app (RunPython or RunSQL: 0020 renamed a category),
    every cached page may show what it changed, and no write told the caches: announce ``all``.
    Schema-only migrations change no page. The purge goes out as any other (front.py), so a
    release's ``migrate`` purges the front caches before the switch. Not while migrations are
    left to apply (``migrate articles 0011``): announcing reads the moments to come through the
    models, whose columns may not exist yet; the migrate that applies the rest announces."""
    if not any(
        migration.app_label == sender.label and isinstance(operation, (RunPython, RunSQL))
        for migration, _backwards in plan or ()
        for operation in migration.operations
    ):
        return
    executor = MigrationExecutor(connections[using])
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        announce({keys.ALL})


def _next_number():
    """The content version's number, moved on; None while the shared cache is unreachable."""
    try:
        return cache.incr(NUMBER_KEY)
    except ValueError:
        # Lost (Redis restarted or evicted it): start again from the clock. (add: of two processes
        # restarting it at once, one sets it and both count on from there.)
        cache.add(NUMBER_KEY, _clock_number(), timeout=None)
    try:
        return cache.incr(NUMBER_KEY)
    except ValueError:
        return None


__all__ = [
    "VERSION_FACTS_SECONDS",
    "ContentVersion",
    "announce",
    "announce_migrated_content",
    "conditional",
    "content_changed",
    "content_version",
    "current_version",
    "forget_process_copies",
    "keys",
]
