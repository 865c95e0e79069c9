"""Purging the front caches (Varnish with vmod-xkey, deploy/varnish/finews.vcl) by surrogate key,
from a thread of their own: no write waits on a front cache.

``purge(keys, number)`` returns at once. Each Varnish in ``FRONT_CACHE_URLS`` has a sender thread
in each process (started on first use, again after a fork) holding the keys it still has to send:
whatever arrives while it sends is coalesced into its next purge, ``PURGE /`` with the keys in an
``xkey-purge`` header (KEYS_PER_REQUEST at a time) and the newest content version number in
``X-Announced``. A Varnish that refuses, fails or hangs (FRONT_CACHE_TIMEOUT_SECONDS) keeps its
keys: they are sent again after a back-off that doubles from one second up to
FRONT_CACHE_RETRY_MAX_SECONDS, for that Varnish alone.

A process that exits (an import run from cron) waits at most FRONT_CACHE_EXIT_WAIT_SECONDS for its
senders, then hands what they still hold over in the shared cache (Redis) and logs it: the next
sender of that Varnish in any process takes it over — one that starts (the next import run, the next
write of a web worker) at once, one already running (a web worker, the watching import) within
TAKE_OVER_SECONDS. Only when the shared cache is unreachable too do those pages wait for their
s-maxage (FRONT_CACHE_SECONDS).
"""

import atexit
import hashlib
import http.client
import logging
import os
import threading
import time
import urllib.parse

from django.conf import settings
from django.core.cache import cache

from . import keys as surrogate_keys

logger = logging.getLogger(__name__)

# Sent with each purge, and with each page finews shares (the version it had seen when it began
# the page): Varnish keeps no page begun before a version it has already purged.
ANNOUNCED_HEADER = "X-Announced"
# Varnish refuses request headers over 8 KB (http_req_hdr_len): keys go in batches well below it.
KEYS_PER_REQUEST = 400
# Past this many keys waiting for one Varnish (a long outage), it is told to purge everything.
MOST_KEYS_KEPT = 20_000
FIRST_RETRY_SECONDS = 1.0
# How often a sender with nothing to send looks for keys handed over by a process that exited.
TAKE_OVER_SECONDS = 30.0
# The handed-over keys of a Varnish are read and written under a lock (cache.add) held at most
# LOCK_SECONDS: of an exiting process and a sender taking over at once, neither loses keys.
HANDED_OVER_PREFIX = "finews:purges-handed-over:"
LOCK_SECONDS = 1


def valid_keys(affected):
    """``affected`` less the keys Varnish could not take (logged): a key with a space or a line
    break would split the header or inject another."""
    valid = set()
    for key in affected:
        if surrogate_keys.KEY_PATTERN.fullmatch(key):
            valid.add(key)
        else:
            logger.error("Surrogate key %r is malformed; not purged (pages holding it expire by their TTL)", key)
    return valid


def purge(affected, announced):
    """Hand ``affected`` keys of content version number ``announced`` to every front cache's sender."""
    for url in settings.FRONT_CACHE_URLS:
        _sender(url).add(affected, announced)


def start():
    """Start this process's senders, which take over what exited processes could not send."""
    for url in settings.FRONT_CACHE_URLS:
        _sender(url)


def wait(timeout):
    """Wait up to ``timeout`` seconds until every sender of this process has sent what it holds,
    or has tried and failed since it was last given keys; returns {url: keys not sent}."""
    deadline = time.monotonic() + timeout
    senders = {url: sender for url, sender in _senders().items() if url in settings.FRONT_CACHE_URLS}
    for sender in senders.values():
        sender.wait_until_idle(deadline)
    return {url: sender.held() for url, sender in senders.items() if sender.held()}


class Sender(threading.Thread):
    """The keys still to purge from the Varnish at ``url``, and the thread that sends them."""

    def __init__(self, url):
        super().__init__(name=f"front-cache-purge {url}", daemon=True)
        self.url = url
        self._keys, self._announced = set(), 0
        # The keys of the purge being sent, if one is.
        self._sending = set()
        # Whether a try has ended (sent or failed) since keys were last added.
        self._tried = True
        self._changed = threading.Condition()
        self._retry_at, self._back_off, self._failing = 0.0, 0.0, False
        # Keys taken over from exited processes, not sent yet.
        self._taken = set()

    def add(self, affected, announced):
        with self._changed:
            self._keys.update(affected)
            if len(self._keys) > MOST_KEYS_KEPT:
                self._keys = {surrogate_keys.ALL}
            self._announced = max(self._announced, announced)
            self._tried = False
            self._changed.notify_all()

    def held(self):
        """The keys not sent yet, the purge being sent included."""
        with self._changed:
            return self._keys | self._sending

    def wait_until_idle(self, deadline):
        with self._changed:
            while (self._keys or self._sending) and not self._gave_up() and time.monotonic() < deadline:
                self._changed.wait(max(0.0, deadline - time.monotonic()))

    def _gave_up(self):
        return self._failing and self._tried and not self._sending

    def run(self):
        while True:
            with self._changed:
                ready = self._ready(TAKE_OVER_SECONDS)
                if ready:
                    batch, announced = sorted(self._keys), self._announced
                    self._keys, self._sending = set(), set(batch)
            if not ready:
                self._take_over()
                continue
            problem = self._send_all(batch, announced)
            with self._changed:
                self._sending, self._tried = set(), True
                if problem:
                    self._keys.update(batch)
                    self._failed(problem, len(batch))
                elif self._failing:
                    logger.warning("Front cache purges go through again url=%s", self.url)
                    self._failing, self._back_off = False, 0.0
                self._changed.notify_all()
            if not problem:
                self._sent(batch)

    def _ready(self, idle_seconds):
        """Wait (holding the condition) until there are keys and no back-off holds them; False
        when ``idle_seconds`` passed with nothing to send."""
        while not self._keys or time.monotonic() < self._retry_at:
            pause = self._retry_at - time.monotonic() if self._keys else idle_seconds
            if not self._changed.wait(pause) and not self._keys:
                return False
        return True

    def _take_over(self):
        """Add the keys that exited processes handed over for this Varnish (_at_exit()). They stay
        handed over until sent (_sent()): a process that exits first does not lose them."""
        kept = _update_handed_over(self.url, lambda kept: kept)
        if kept:
            logger.warning("Front cache purge taken over url=%s keys=%d", self.url, len(kept))
            with self._changed:
                self._taken |= kept
            self.add(kept, 0)

    def _sent(self, batch):
        with self._changed:
            sent, self._taken = self._taken & set(batch), self._taken - set(batch)
        if sent:
            _update_handed_over(self.url, lambda kept: kept - sent)

    def _failed(self, problem, count):
        limit = settings.FRONT_CACHE_RETRY_MAX_SECONDS
        self._back_off = min(limit, self._back_off * 2 or FIRST_RETRY_SECONDS)
        self._retry_at = time.monotonic() + self._back_off
        if not self._failing:
            logger.error(
                "Front cache purge failed url=%s keys=%d problem=%s; retrying every %g s at most, "
                "the pages expire within FRONT_CACHE_SECONDS=%s",
                self.url, count, problem, limit, settings.FRONT_CACHE_SECONDS,
            )  # fmt: skip
        self._failing = True

    def _send_all(self, batch, announced):
        """None when the Varnish took every key of ``batch``; otherwise what went wrong."""
        for start in range(0, len(batch), KEYS_PER_REQUEST):
            try:
                status = _send(self.url, batch[start : start + KEYS_PER_REQUEST], announced)
            except OSError as error:
                return f"{type(error).__name__}: {error}"
            if status != 200:
                return f"HTTP {status}"
        return None


def _send(url, keys, announced):
    parts = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=settings.FRONT_CACHE_TIMEOUT_SECONDS)
    try:
        headers = {"xkey-purge": " ".join(keys), ANNOUNCED_HEADER: str(announced)}
        connection.request("PURGE", parts.path or "/", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# The senders of this process, by URL: threads do not survive a fork (gunicorn's workers).
_process = {"pid": None, "senders": {}}
_lock = threading.Lock()


def _senders():
    if _process["pid"] != os.getpid():
        _process.update(pid=os.getpid(), senders={})
    return _process["senders"]


def _sender(url):
    with _lock:
        senders = _senders()
        if url not in senders:
            senders[url] = Sender(url)
            senders[url]._take_over()
            senders[url].start()
        return senders[url]


def _update_handed_over(url, change):
    """Replace the keys handed over for the Varnish at ``url`` by ``change(kept)``, under the
    lock; returns the keys kept before, or None when the shared cache could not be used."""
    key = HANDED_OVER_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:16]
    lock = f"{key}:lock"
    deadline = time.monotonic() + LOCK_SECONDS
    while not cache.add(lock, os.getpid(), timeout=LOCK_SECONDS):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    try:
        kept = cache.get(key, set())
        changed = change(kept)
        if changed and changed != kept:
            cache.set(key, changed, timeout=None)
        elif kept and not changed:
            cache.delete(key)
        return kept
    finally:
        cache.delete(lock)


@atexit.register
def _at_exit():
    if not _senders():
        return
    left = wait(settings.FRONT_CACHE_EXIT_WAIT_SECONDS)
    for url, keys in left.items():
        handed_over = _update_handed_over(url, lambda kept, keys=keys: kept | keys) is not None
        logger.error(
            "Front cache purge not sent before exit url=%s keys=%d (%s); %s",
            url, len(keys), " ".join(sorted(keys)[:20]),
            "handed over to the next sender of that Varnish" if handed_over else
            f"the shared cache is unreachable too: those pages expire within FRONT_CACHE_SECONDS="
            f"{settings.FRONT_CACHE_SECONDS}, or send them with manage.py purge_cache KEY …",
        )  # fmt: skip
