"""Settings for benchmark runs: production settings over plain HTTP on 127.0.0.1.

BENCH_CACHE=none turns the page cache off for the uncached measurements.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# The uncached runs (BENCH_CACHE=none) have no Redis; each task is one process.
os.environ.setdefault("LOCAL_MEMORY_CACHE", "true")

from bench import rules  # noqa: E402
from finews.settings.production import *  # noqa: E402, F403

ROOT_URLCONF = "bench.urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
if os.environ.get("BENCH_CACHE") == "none":
    PAGE_CACHE_SECONDS = 0

# What the reading day compares (bench/rules.py): finews's own keys unless BENCH_RULE says otherwise.
rules.apply()
