"""Public pages read from PostgreSQL streaming replicas; everything else reads the primary.

``DATABASE_REPLICA_URLS`` adds the replicas to ``DATABASES`` (``replica_1``, ``replica_2``, …) and
installs ``ReplicaRouter`` and ``ReplicaMiddleware`` (finews/settings/base.py). Writes always go to
the primary, and so do the reads of

- every request but a reader's: a GET or HEAD with neither a session cookie (editors) nor an
  ``Authorization`` header (the scraper's ingest, API tokens), so a session that writes always
  reads back what it wrote;
- everything outside a request: the import, ``--watch`` and every management command;
- a transaction: a read inside ``transaction.atomic()`` decides a write (publishing.py locks the
  rows it reads there), so it must see the primary's rows.

A reader's request reads one replica, chosen when it first reads, among those that

- answered the last check: each process checks its replicas once every
  ``DATABASE_REPLICA_CHECK_SECONDS`` (one small query on the primary and one on each replica, made
  by the request that finds the last check too old), not once per request;
- lag at most ``DATABASE_REPLICA_MAX_LAG_SECONDS``: a replica's lag is how long ago the primary
  was where the replica's replay is now (the primary's WAL position is noted at every check), so it
  counts from the first change the replica has not applied, also while its connection to the
  primary is broken; measured to within one check interval;
- have applied every change announced before the request began. Each change is announced after
  it commits, and the caches keep what a request renders under the announcement the request began
  in (articles/caching): a page rendered from a replica without that change would be kept as
  current until the next change, so the request reads the primary instead. The primary's WAL
  position at each announcement is noted in the shared cache (``HORIZON_KEY``, by the first request
  to see the announcement), so that readers see a change as soon as it is announced, as they do
  without replicas.

A replica that fails during a request (stopped, restarted, its connection cut) is left out until it
answers a check again, and the request, a GET, is answered again from the primary.
"""

import contextlib
import contextvars
import dataclasses
import logging
import random
import threading
import time
from collections import deque

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

# (announcement number: the content version's, the primary's WAL position in bytes once it was made)
HORIZON_KEY = "finews:replica-horizon"
SAFE_METHODS = ("GET", "HEAD")


def replica_aliases():
    return list(settings.REPLICA_DATABASES)


@dataclasses.dataclass
class ReplicaState:
    """What the last check found of one replica."""

    alias: str
    answered: bool = False
    # The WAL position (bytes) it had replayed when last asked.
    replayed: int = -1
    # Seconds; None while not known (down, or no earlier position of the primary to compare with).
    lag: float | None = None
    problem: str = "not checked yet"

    @property
    def usable(self):
        return self.answered and self.lag is not None and self.lag <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS

    def describe(self):
        if not self.answered:
            return f"down ({self.problem})"
        if self.lag is None:
            return "lag not known yet"
        return f"lag {self.lag:.1f} s" + ("" if self.usable else " (too far behind: not used)")


class ReplicaSet:
    """The replicas as this process last checked them (one instance per process: ``replica_set``)."""

    def __init__(self):
        self.states = {}
        # (time.monotonic(), the primary's WAL position) at each check, oldest first.
        self.primary_positions = deque()
        self.checked_at = None
        self.lock = threading.Lock()

    def choose(self, horizon):
        """The alias of a replica that may answer a reader's request whose data must include WAL
        position ``horizon`` (bytes), or None for the primary."""
        self.check_if_due()
        candidates = [state for state in self.states.values() if state.usable]
        ready = [state for state in candidates if state.replayed >= horizon]
        if candidates and not ready:
            # It may have caught up since the check: one more small query rather than the whole
            # request on the primary.
            state = random.choice(candidates)
            self._ask_replica(state)
            ready = [state] if state.answered and state.replayed >= horizon else []
        return random.choice(ready).alias if ready else None

    def check_if_due(self):
        now = time.monotonic()
        if self.checked_at is not None and now - self.checked_at < settings.DATABASE_REPLICA_CHECK_SECONDS:
            return
        if not self.lock.acquire(blocking=False):
            return  # another thread of this process is checking: the last results stand meanwhile
        try:
            self.check(now)
        finally:
            self.lock.release()

    def check(self, now=None):
        """Ask every replica how far it has replayed, then the primary where it is; set each
        replica's lag (see the module's docstring)."""
        now = time.monotonic() if now is None else now
        self.checked_at = now
        for alias in replica_aliases():
            self._ask_replica(self.states.setdefault(alias, ReplicaState(alias)))
        # Asked after the replicas: a replica that has replayed this position lags by nothing.
        primary = primary_position()
        positions = self.primary_positions
        positions.append((now, primary))
        kept_for = settings.DATABASE_REPLICA_MAX_LAG_SECONDS + 2 * settings.DATABASE_REPLICA_CHECK_SECONDS
        while len(positions) > 1 and positions[1][0] < now - kept_for:
            positions.popleft()
        for state in self.states.values():
            was_usable = state.usable
            if not state.answered:
                state.lag = None
            elif state.replayed >= primary:
                state.lag = 0.0
            else:
                # When the primary was last where the replica is: the replica lacks what came after.
                state.lag = self._lag(state.replayed, now)
            if was_usable != state.usable:
                log = logger.info if state.usable else logger.warning
                log("Database replica %s is %s", state.alias, "used again" if state.usable else state.describe())

    def _lag(self, replayed, now):
        """Seconds since the primary was last at or before WAL position ``replayed``; None while
        this process has not seen it there and has not watched it for longer than the limit."""
        caught_up = [at for at, position in self.primary_positions if position <= replayed]
        if caught_up:
            return now - caught_up[-1]
        watched_for = now - self.primary_positions[0][0]
        return watched_for if watched_for > settings.DATABASE_REPLICA_MAX_LAG_SECONDS else None

    def _ask_replica(self, state):
        try:
            with connections[state.alias].cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint")
                in_recovery, replayed = cursor.fetchone()
        except DatabaseError as error:
            connections[state.alias].close()
            self.mark_down(state.alias, f"{type(error).__name__}: {str(error).strip()[:200]}")
            return
        if not in_recovery or replayed is None:
            # Promoted, or not a replica at all: its rows may differ from the primary's.
            self.mark_down(state.alias, "not a standby of the primary")
            return
        state.answered, state.problem = True, ""
        state.replayed = max(state.replayed, replayed)

    def mark_down(self, alias, problem):
        state = self.states.setdefault(alias, ReplicaState(alias))
        if state.answered or state.problem != problem:
            logger.warning("Database replica %s is not used until it answers again: %s", alias, problem)
        state.answered, state.lag, state.problem = False, None, problem

    def describe(self):
        """{alias: "lag 0.0 s" | "down (…)" | …} for every replica, as last checked."""
        return {alias: self.states.get(alias, ReplicaState(alias)).describe() for alias in replica_aliases()}


replica_set = ReplicaSet()


def primary_position():
    """The primary's current WAL position, in bytes."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
        return cursor.fetchone()[0]


@dataclasses.dataclass
class Reading:
    """Where a reader's request reads: decided at its first read, kept for the whole request."""

    decided: bool = False
    alias: str | None = None
    # The announcement the request's data includes (see saw_announcement()).
    announced: int = 0

    def database(self):
        if not self.decided:
            self.decided = True
            self.announced, horizon = _horizon()
            self.alias = replica_set.choose(horizon)
        return self.alias or DEFAULT_DB_ALIAS


def _horizon():
    """(the last announcement, the primary's WAL position once it was made), as noted in the
    shared cache; noted now (one query on the primary) by the first request to see it."""
    from articles.caching import NUMBER_KEY

    read = cache.get_many([NUMBER_KEY, HORIZON_KEY])
    announced = read.get(NUMBER_KEY) or 0
    noted = read.get(HORIZON_KEY)
    if noted is not None and noted[0] == announced:
        return noted
    # Read after the announcement, so at or past every change announced up to it. (Racing
    # requests may note an older announcement over a newer one: the next to read it notes it again.)
    noted = (announced, primary_position())
    cache.set(HORIZON_KEY, noted, timeout=None)
    return noted


_reading = contextvars.ContextVar("finews_replica_reading", default=None)


@contextlib.contextmanager
def reading_replicas():
    """Let the reads of the code within go to a replica, as those of a reader's request do."""
    reading = Reading()
    token = _reading.set(reading)
    try:
        yield reading
    finally:
        _reading.reset(token)


def saw_announcement(number):
    """Called where the caches read the content version's number (articles/caching): what a request
    computes after seeing a version newer than its replica's data is kept under that version, so
    the rest of the request reads the primary."""
    reading = _reading.get()
    if reading is not None and reading.decided and reading.alias and number > reading.announced:
        reading.alias = None


def is_readers_request(request):
    return (
        request.method in SAFE_METHODS
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
    )


class ReplicaMiddleware:
    """Lets a reader's request read a replica (see the module's docstring); answers it again from
    the primary when its replica failed during it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_readers_request(request):
            return self.get_response(request)
        with reading_replicas() as reading:
            response = self.get_response(request)
        if reading.alias and _failed(reading.alias):
            replica_set.mark_down(reading.alias, "failed during a request")
            connections[reading.alias].close()
            response = self.get_response(request)
        return response


def _failed(alias):
    """Whether the replica's connection broke during the request (not an error in a query)."""
    connection = connections[alias]
    return connection.errors_occurred and not connection.is_usable()


class ReplicaRouter:
    """Django's database router for the rules in this module's docstring."""

    def db_for_read(self, model, **hints):
        reading = _reading.get()
        if reading is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return reading.database()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Every database holds the same rows.
        return True

    def allow_migrate(self, db, app_label, **hints):
        # Replicas replay the primary's migrations.
        return db == DEFAULT_DB_ALIAS
