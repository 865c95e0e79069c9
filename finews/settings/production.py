"""Production: everything comes from the environment, and a missing essential stops the start.

Required: SECRET_KEY, ALLOWED_HOSTS (comma-separated), REDIS_URL (or LOCAL_MEMORY_CACHE=true for a
single process). Usual: DATABASE_URL, TRUSTED_PROXIES. The README's Production section lists the rest.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import STORAGES


def required_environment(name, explanation):
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"The {name} environment variable is required in production: {explanation}")
    return value


def environment_flag(name, default):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def environment_list(name):
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = False
SECRET_KEY = required_environment(
    "SECRET_KEY", "a long random string, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`"
)
ALLOWED_HOSTS = environment_list("ALLOWED_HOSTS") or required_environment(
    "ALLOWED_HOSTS", "the site's host names, comma-separated, e.g. finews.example.com"
)
CSRF_TRUSTED_ORIGINS = environment_list("CSRF_TRUSTED_ORIGINS") or [
    f"https://{host.lstrip('.')}" for host in ALLOWED_HOSTS if host != "*"
]

# HTTPS, behind a proxy (nginx, a load balancer) that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = environment_flag("SECURE_SSL_REDIRECT", True)
# Browsers keep to HTTPS for this long. Preloading (a promise to browsers' built-in lists, hard to
# take back) is the operator's choice, so it is off unless asked for.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = environment_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = environment_flag("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # "SECURE_HSTS_PRELOAD is not True": declined knowingly
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STATIC_ROOT = os.environ.get("STATIC_ROOT", STATIC_ROOT)  # noqa: F405
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", MEDIA_ROOT)  # noqa: F405
STORAGES = {
    **STORAGES,
    # Hashed, compressed file names that browsers may cache for good (WhiteNoise: ten years, immutable).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if os.environ.get("MEDIA_STORAGE_BACKEND"):
    STORAGES["default"] = {"BACKEND": os.environ["MEDIA_STORAGE_BACKEND"]}

# Every web worker and the import must share one cache: the import tells it what changed, and a
# worker with a cache of its own would go on serving the pages from before.
if not os.environ.get("REDIS_URL", "").strip() and not environment_flag("LOCAL_MEMORY_CACHE", False):
    raise ImproperlyConfigured(
        "The REDIS_URL environment variable is required in production: the page cache must be shared by every "
        "web worker and the import (e.g. redis://127.0.0.1:6379/0). For a single process only (no import from "
        "cron, one gunicorn worker), set LOCAL_MEMORY_CACHE=true instead."
    )

METRICS_ALLOWED_IPS = environment_list("METRICS_ALLOWED_IPS") or METRICS_ALLOWED_IPS  # noqa: F405

# Every logger: the import's and the caches' ("articles", which development keeps at INFO below a
# quieter root) too, or LOG_LEVEL=WARNING would still log every import run.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING["root"]["level"] = LOG_LEVEL  # noqa: F405
LOGGING["loggers"]["articles"]["level"] = LOG_LEVEL  # noqa: F405

# Login throttling and /metrics must see the client's address, not a proxy's
# (articles.operations.security.client_address).
if os.environ.get("PROXY_COUNT"):
    raise ImproperlyConfigured(
        "PROXY_COUNT is no longer read: name the proxies in front of gunicorn in TRUSTED_PROXIES instead "
        "(addresses or networks, comma-separated; default 127.0.0.1,::1, a proxy on this host)."
    )
TRUSTED_PROXIES = environment_list("TRUSTED_PROXIES") or TRUSTED_PROXIES  # noqa: F405
