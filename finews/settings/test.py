"""The test suite's: development's, with a cache of each test process's own (each works on a test
database of its own), or Redis when REDIS_URL is set."""

from .base import cache_from_environment
from .development import *  # noqa: F403

CACHES = {"default": cache_from_environment()}
