"""Settings shared by every environment; development.py and production.py build on them."""

import os
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.utils.functional import lazy
from django_prose_editor.config import html_tags

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# django-ninja's docs template and Swagger UI files, served as ours (articles.api.docs.LocalSwagger). Not an
# installed app: that would import ninja and pydantic in every process, the cron import's included.
NINJA_DIR = Path(find_spec("ninja").origin).parent

INSTALLED_APPS = [
    # Django's admin, its ModelAdmins found by the URLconf, not by every process's start-up.
    "finews.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "taggit",
    "reversion",
    # 历史's compare page (articles/desk_admin.py: CompareAdminMixin).
    "reversion_compare",
    "axes",
    "django_prose_editor",
    "csp",
    "articles",
]

MIDDLEWARE = [
    "articles.operations.metrics.MetricsMiddleware",
    "articles.operations.endpoints.HostIndependentEndpointsMiddleware",
    "articles.api.errors.JsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "articles.operations.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "articles.caching.middleware.PublicPageCacheMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# No inline script or style on public pages, nothing from other origins but images (imported
# articles show East Money's pictures). The admin adds what it needs (articles/security.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:", "http:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Admin login throttling: five wrong passwords for a user from one address lock it out for an hour.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "articles.operations.security.client_address"
# The proxies whose X-Forwarded-For entries are believed (addresses or networks): the client is the
# first address, from the right, that is none of them (articles.operations.security.client_address).
TRUSTED_PROXIES = ["127.0.0.1", "::1"]

ROOT_URLCONF = "finews.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", NINJA_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "articles.site.context.channels",
            ],
        },
    },
]

WSGI_APPLICATION = "finews.wsgi.application"


def database_from_environment(default_sqlite_path):
    """DATABASE_URL wins; otherwise the embedded SQLite file.

    SQLite runs in WAL mode with a busy timeout and IMMEDIATE transactions, so readers keep
    being served while an import writes, and two writers queue instead of failing with
    "database is locked". Either database's connection is kept by a process for 60 s of requests:
    opening a SQLite file again and reading its schema was a quarter of a list page's time.
    """
    database = dj_database_url.config(default=f"sqlite:///{default_sqlite_path}", conn_max_age=60)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    return database


DATABASES = {"default": database_from_environment(BASE_DIR / "db.sqlite3")}


def replicas_from_environment(primary):
    """The PostgreSQL streaming replicas of ``primary`` in DATABASE_REPLICA_URLS (comma-separated
    URLs, as DATABASE_URL): {"replica_1": settings, …}. Raises ImproperlyConfigured when the
    primary or a replica is not PostgreSQL (replicas are PostgreSQL's streaming replication)."""
    urls = [url.strip() for url in os.environ.get("DATABASE_REPLICA_URLS", "").split(",") if url.strip()]
    replicas = {}
    for number, url in enumerate(urls, start=1):
        replica = dj_database_url.parse(url, conn_max_age=primary["CONN_MAX_AGE"])
        if "postgresql" not in primary["ENGINE"] or "postgresql" not in replica["ENGINE"]:
            raise ImproperlyConfigured(
                "DATABASE_REPLICA_URLS names PostgreSQL streaming replicas of DATABASE_URL: both must be "
                f"postgres:// URLs (replica {number} is {url.split(':', 1)[0]}://, the primary {primary['ENGINE']})"
            )
        # A replica that does not answer must not hold a reader's request long (finews/replicas.py).
        replica["OPTIONS"] = {**replica.get("OPTIONS", {}), "connect_timeout": 2}
        # Tests read the primary's test database through it.
        replica["TEST"] = {"MIRROR": "default"}
        replicas[f"replica_{number}"] = replica
    return replicas


# Read replicas (finews/replicas.py): readers' requests read them, everything else the primary.
REPLICA_DATABASES = replicas_from_environment(DATABASES["default"])
DATABASES.update(REPLICA_DATABASES)
REPLICA_DATABASES = list(REPLICA_DATABASES)
# A replica further behind the primary than this is not read (seconds).
DATABASE_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("DATABASE_REPLICA_MAX_LAG_SECONDS", "5"))
# How often each process asks its replicas how far they have replayed (seconds).
DATABASE_REPLICA_CHECK_SECONDS = float(os.environ.get("DATABASE_REPLICA_CHECK_SECONDS", "1"))
if REPLICA_DATABASES:
    DATABASE_ROUTERS = ["finews.replicas.ReplicaRouter"]
    # Inside the metrics, which count a request once however it was answered.
    MIDDLEWARE.insert(1, "finews.replicas.ReplicaMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# One language, so no LocaleMiddleware: its "Vary: Accept-Language" would split every cached page by browser.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
# Beijing time as a fixed UTC+8 (articles.validators.BEIJING_TIME): Asia/Shanghai would show and
# send +08:05:43 before 1901 and +09:00 in the summers of 1986 to 1991.
TIME_ZONE = "Etc/GMT-8"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static", NINJA_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def cache_from_environment():
    """Redis when REDIS_URL is set (shared by every web host), otherwise memory in this process."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return {
            # Every read a miss while Redis cannot be reached, rather than every page a 500 (finews/cache.py).
            "BACKEND": "finews.cache.FailOpenRedisCache",
            "LOCATION": redis_url,
            # A Redis that hangs holds a request this long, then is left alone for a few seconds. Not
            # shorter: a loaded machine can hold a healthy Redis's answer for half a second, and a
            # false outage skips announcements (pages then stay stale until they expire).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


CACHES = {"default": cache_from_environment()}
# Cached public pages belong to a content version (articles/caching/); this only bounds memory.
# 0 turns the page cache off.
PAGE_CACHE_SECONDS = 600

# The front caches (Varnish, deploy/varnish/finews.vcl) told to purge the keys of every change,
# e.g. "http://127.0.0.1:6081" (comma-separated in the environment); none by default.
FRONT_CACHE_URLS = [url.strip() for url in os.environ.get("FRONT_CACHE_URLS", "").split(",") if url.strip()]
# The purge sender (articles/caching/front.py): how long one purge may take, the longest pause
# between tries at a Varnish that fails (doubling from 1 s), and how long a process that exits
# (the import) waits for its purges to go out.
FRONT_CACHE_TIMEOUT_SECONDS = float(os.environ.get("FRONT_CACHE_TIMEOUT_SECONDS", "2"))
FRONT_CACHE_RETRY_MAX_SECONDS = float(os.environ.get("FRONT_CACHE_RETRY_MAX_SECONDS", "60"))
FRONT_CACHE_EXIT_WAIT_SECONDS = float(os.environ.get("FRONT_CACHE_EXIT_WAIT_SECONDS", "2"))
# How long a shared cache may keep a public page (s-maxage): purges keep it fresh, this is the
# fallback when a purge is lost. Browsers always revalidate (max-age=0).
FRONT_CACHE_SECONDS = int(os.environ.get("FRONT_CACHE_SECONDS", "3600"))
# How long a shared cache may serve a kept page while finews is down (stale-if-error).
FRONT_CACHE_STALE_IF_ERROR_SECONDS = int(os.environ.get("FRONT_CACHE_STALE_IF_ERROR_SECONDS", "86400"))

# Who may read /metrics (addresses or networks; the client's address as
# articles.operations.security.client_address finds it).
METRICS_ALLOWED_IPS = ["127.0.0.1", "::1"]

# Posts one ingest token may push a minute (POST /api/v1/posts/).
INGEST_REQUESTS_PER_MINUTE = 120

# Import runs (the admin's 导入记录) older than this are deleted by manage.py prune_import_runs.
IMPORT_RUNS_KEEP_DAYS = int(os.environ.get("IMPORT_RUNS_KEEP_DAYS", "90"))

# The article body editor's own extensions (static/js/body-editor.js: Chinese menu labels, Word and
# WPS paste); they make no HTML of their own. The module's URL is resolved once the apps are loaded.
DJANGO_PROSE_EDITOR_EXTENSIONS = [
    {
        "js": [lazy(static, str)("js/body-editor.js")],
        "extensions": {"ChineseLabels": html_tags([]), "OfficePaste": html_tags([])},
    }
]
# The dialogs' labels (django-prose-editor asks gettext for them) are in locale/zh_Hans/…/djangojs.po.
LOCALE_PATHS = [BASE_DIR / "locale"]

TAGGIT_CASE_INSENSITIVE = True
TAGGIT_TAGS_FROM_STRING = "articles.tagging.parse_tags"
TAGGIT_STRING_FROM_TAGS = "articles.tagging.format_tags"

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "line"}},
    "root": {"handlers": ["stdout"], "level": "WARNING"},
    "loggers": {"articles": {"handlers": ["stdout"], "level": "INFO", "propagate": False}},
}
