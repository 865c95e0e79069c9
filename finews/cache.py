"""Django's Redis cache, failing open: while Redis cannot be reached, finews works without it.

Everything finews keeps in the cache can be computed again (pages, counts, the content version),
so an unreachable Redis must not answer every page with a 500 or stop an import half way:
every read is a miss, every write is skipped, and incr() finds no counter (ValueError, as for a
key Redis lost; articles.caching then purges without a number). After a failure Redis is not
tried again for RETRY_AFTER_SECONDS, so that a Redis that hangs costs one timeout, not one per
cache call. Pages stored before an outage may be stale after it, until the content version moves
on again or they expire (PAGE_CACHE_SECONDS): an outage is logged at ERROR so that operators know.

Each connection pool's ``redis.Redis`` is made once (Django's client makes one per cache call).
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError, TimeoutError

logger = logging.getLogger("finews.cache")
RETRY_AFTER_SECONDS = 5


class ReusedClientsRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one ``redis.Redis`` per connection pool: Django makes one per call,
    and each builds its table of response callbacks (0.1 ms, on every page-cache hit). A
    ``redis.Redis`` over a pool is safe to share between threads, and its pool reconnects after a fork."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientsRedisCacheClient
        self._unreachable_until = 0.0

    def _guarded(self, operation, fallback, *args, **kwargs):
        if time.monotonic() < self._unreachable_until:
            return fallback()
        try:
            result = operation(*args, **kwargs)
        except (ConnectionError, TimeoutError) as error:
            if not self._unreachable_until:
                logger.error("Redis is unreachable (%s): serving without the cache, retrying every %s s",
                             error, RETRY_AFTER_SECONDS)  # fmt: skip
            self._unreachable_until = time.monotonic() + RETRY_AFTER_SECONDS
            return fallback()
        if self._unreachable_until:
            logger.warning("Redis is reachable again")
            self._unreachable_until = 0.0
        return result

    def get(self, key, default=None, version=None):
        return self._guarded(super().get, lambda: default, key, default, version)

    def get_many(self, keys, version=None):
        return self._guarded(super().get_many, dict, keys, version)

    def has_key(self, key, version=None):
        return self._guarded(super().has_key, lambda: False, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(super().add, lambda: False, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(super().set, lambda: None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(super().set_many, lambda: list(data), data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(super().touch, lambda: False, key, timeout, version)

    def delete(self, key, version=None):
        return self._guarded(super().delete, lambda: False, key, version)

    def delete_many(self, keys, version=None):
        return self._guarded(super().delete_many, lambda: None, keys, version)

    def incr(self, key, delta=1, version=None):
        return self._guarded(super().incr, _missing_counter, key, delta, version)

    def clear(self):
        return self._guarded(super().clear, lambda: None)


def _missing_counter():
    raise ValueError("the cache is unreachable: the counter is missing")
