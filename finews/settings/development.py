"""The default: runs with no configuration at all (SQLite file, DEBUG on, a generated secret)."""

import os

from django.core.management.utils import get_random_secret_key

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES

# On for whoever develops (Django's technical pages, in English). scripts/run-site, which shows a
# newcomer the site as readers get it, turns it off: under DEBUG Django answers an unknown address
# with its technical 404 whatever handler404 says, and has no setting to show the site's own.
DEBUG = os.environ.get("FINEWS_DEBUG", "true").strip().lower() in {"1", "true", "yes", "on"}
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]


def _development_secret_key():
    """A per-checkout secret kept in a git-ignored file, so sessions survive restarts."""
    key_file = BASE_DIR / ".dev-secret-key"
    if not key_file.exists():
        key_file.write_text(get_random_secret_key())
    return key_file.read_text().strip()


SECRET_KEY = _development_secret_key()

# Serve static files straight from static/ while developing (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True


def _cache_shared_by_every_process():
    """The cache every process on this database shares: runserver and an import run in another
    terminal. (A cache of each process's own kept the pages and lists an import had changed for
    ten minutes.) Redis when REDIS_URL is set; else files beside the SQLite database
    (``db.sqlite3-cache/``), which only the processes using that database read; else, on another
    database without Redis, no cache at all (every page rendered afresh: slower, never stale).
    """
    database = DATABASES["default"]
    if os.environ.get("REDIS_URL"):
        return cache_from_environment()  # noqa: F405
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": f"{database['NAME']}-cache",
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}


CACHES = {"default": _cache_shared_by_every_process()}
