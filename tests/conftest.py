import contextlib
import datetime as dt
import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from time_machine import travel

CLOCK_VARIABLE = "FINEWS_TEST_CLOCK"


def pytest_configure(config):
    """Move this process's clock where FINEWS_TEST_CLOCK says; start the run's own Redis
    (finews/testing/redis.py) once, before any worker: the workers inherit its address."""
    from finews.testing import redis

    if clock := os.environ.get(CLOCK_VARIABLE):
        _travel(config, clock)
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("TEST_REDIS_URL") or redis.URL_VARIABLE in os.environ:
        return
    process, url = redis.start()
    os.environ[redis.URL_VARIABLE] = url
    config.add_cleanup(process.terminate)


def _travel(config, clock):
    """Run the suite from another instant: ``clock`` is ISO 8601 with its offset
    ("2026-12-01T00:02:00+08:00"); the clock goes on ticking from there. Only this process's
    clock moves (not Chromium's, not a gunicorn's): it finds tests that pass only at some hours,
    as CI found one at midnight in Beijing."""
    try:
        destination = dt.datetime.fromisoformat(clock)
    except ValueError:
        raise pytest.UsageError(f"{CLOCK_VARIABLE}={clock!r} is not an ISO 8601 instant") from None
    if destination.tzinfo is None:
        raise pytest.UsageError(f"{CLOCK_VARIABLE}={clock!r} needs its UTC offset (+08:00 for Beijing)")
    traveller = travel(destination, tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)


BASE_DIR = Path(__file__).resolve().parents[1]
CORPUS_DIR = BASE_DIR.parent / "shared" / "corpus" / "finews-posts"
SAMPLE_POSTS = BASE_DIR / "sample_posts" / "_posts"
SEED_POST = "2022-01-07-NW202201072239950893.md"
BROKEN_POST = "-202205262391921712.md"


@pytest.fixture
def corpus_dir():
    assert CORPUS_DIR.is_dir(), f"the shared corpus is expected at {CORPUS_DIR}"
    return CORPUS_DIR


def run_import(*args):
    """Run import_posts; return (exit_ok, stdout, stderr)."""
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("import_posts", *map(str, args), stdout=stdout, stderr=stderr)
        succeeded = True
    except CommandError as error:
        stderr.write(str(error))
        succeeded = False
    return succeeded, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="class")
def _corpus_imported_once(django_db_setup, django_db_blocker):
    """The corpus imported once for a whole test class, inside a transaction rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        run_import(CORPUS_DIR)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def imported_corpus(_corpus_imported_once, db, corpus_dir):
    """The imported corpus; each test runs in a savepoint of its own on top of it."""
    return corpus_dir


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def write_post(tmp_path):
    """Write a post file and return its path: write_post("2022-01-07-X1.md", text, encoding="utf-8")."""

    def write(name, text, encoding="utf-8"):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
        return path

    return write


def post_text(title='"测试标题"', date="2022-01-07 12:35:20 +0800", extra="", body="<p>正文</p>"):
    return f"---\nlayout: post\ntitle: {title}\ndate: {date}\ncategories: cailianshe\ntags: 财联社新闻\n{extra}---\n{body}\n"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Pages are cached; every test starts with an empty cache so query counts are comparable."""
    from django.core.cache import cache

    from articles.caching import forget_process_copies

    cache.clear()
    forget_process_copies()
    yield
    cache.clear()


@pytest.fixture
def afternoon_in_beijing(time_machine):
    """The clock at 14:00 today, Beijing time, ticking on: for a test whose "five minutes ago" must
    be today and whose "10:00 today" must be past (neither held when CI once ran at 00:02)."""
    time_machine.move_to(timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(14))), tick=True)


@pytest.fixture
def reader(client):
    """An anonymous client in the steady state: the page cache's per-version lookup already done.

    Request it after the fixtures that create data, so query counts measure only the page itself.
    """
    client.get("/robots.txt")
    return client


# What the tests that run the site in processes of its own (gunicorn, manage.py) prepare once per
# run: collectstatic took 7 s (13 s on a busy machine) and migrate 2.6 s (9 s) each time, in six
# tests and in thirteen.


def _made_once(tmp_path_factory, name, make):
    """The path ``name`` in a folder every worker of this run shares, made by ``make(path)`` in the
    first worker that asks while the others wait for it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-of-<user>/pytest-<n>/: this run's, above each worker's own
    folder = root / "made-once"
    folder.mkdir(exist_ok=True)
    path = folder / name
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            unfinished = folder / f"unfinished-{name}"
            make(unfinished)
            unfinished.rename(path)
    return path


def _site_command(environment, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *map(str, args)],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def _production(tmp_path, **extra):
    from tests.test_production import production_environment

    return production_environment(tmp_path, **extra)


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """A STATIC_ROOT that production's ``collectstatic`` filled (hashed, compressed), made once per
    run: servers read it, so every test may point its own at it."""

    def collect(path):
        _site_command(
            _production(tmp_path_factory.mktemp("collect"), STATIC_ROOT=str(path)), "collectstatic", "--no-input"
        )

    return _made_once(tmp_path_factory, "static", collect)


@pytest.fixture(scope="session")
def _sqlite_templates(tmp_path_factory):
    def made_by(*commands, start_from=None):
        def make(path):
            # In a folder of its own, then copied: the copy holds what SQLite's log still held.
            folder = tmp_path_factory.mktemp("template")
            working = folder / "site.sqlite3"
            if start_from:
                copy_sqlite(start_from, working)
            environment = _production(folder, DATABASE_URL=f"sqlite:///{working}")
            for command in commands:
                _site_command(environment, *command)
            copy_sqlite(working, path)

        return make

    def template(sample_posts, more_posts=()):
        migrated = _made_once(tmp_path_factory, "migrated.sqlite3", made_by(["migrate", "--no-input"]))
        if not sample_posts:
            return migrated
        imported = made_by(["import_posts", SAMPLE_POSTS, *more_posts], start_from=migrated)
        name = "".join(f"+{Path(post).stem}" for post in more_posts)
        return _made_once(tmp_path_factory, f"sample-posts{name}.sqlite3", imported)

    return template


def copy_sqlite(source, target):
    """Copy the SQLite database at ``source`` to ``target`` (SQLite's online backup: pages still in
    a write-ahead log are copied too)."""
    with contextlib.closing(sqlite3.connect(source)) as origin, contextlib.closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


@pytest.fixture(scope="session")
def migrated_sqlite(_sqlite_templates):
    """``migrated_sqlite(path, sample_posts=False, more_posts=())`` puts a migrated SQLite database at
    ``path`` (with sample_posts/_posts imported, when asked, and the post files ``more_posts`` in the
    same run) and returns its DATABASE_URL, "sqlite:///<path>".

    A copy of a database migrated (and imported) once per run: each test still has a database of
    its own."""

    def copy(path, sample_posts=False, more_posts=()):
        copy_sqlite(_sqlite_templates(sample_posts, more_posts), path)
        return f"sqlite:///{path}"

    return copy


class SiteServer:
    """A gunicorn of the session's (``site_server``): its base ``url``, the ``environment`` it runs
    with (for manage.py beside it), its SQLite ``database`` (a copy of ``template``) and its
    ``folder`` (its media, and what a configuration names in it)."""

    def __init__(self, url, environment, database, template, folder):
        self.url, self.environment, self.database, self.template, self.folder = (
            url,
            environment,
            database,
            template,
            folder,
        )

    def reset(self):
        """Put back what the server served when it started: its database copied from the template
        again (into the file its workers have open: SQLite's backup writes under the database's
        lock, and their next query reads the new pages), an empty cache and no media files."""
        copy_sqlite(self.template, self.database)
        for cached in Path(f"{self.database}-cache").glob("*"):
            cached.unlink()
        if self.environment.get("REDIS_URL"):
            subprocess.run(
                ["redis-cli", "-u", self.environment["REDIS_URL"], "flushdb"], check=True, capture_output=True
            )
        if "MEDIA_ROOT" in self.environment:
            shutil.rmtree(self.environment["MEDIA_ROOT"], ignore_errors=True)


@pytest.fixture(scope="session")
def site_server(request, tmp_path_factory, _sqlite_templates):
    """``site_server(settings="development", sample_posts=False, workers=2, **environment)``: a
    SiteServer reset to a copy of the run's migrated SQLite database (sample_posts/_posts imported,
    when asked), served by the one gunicorn this session runs for that configuration.

    ``settings`` is "development" (the default a newcomer runs: the cache is a folder beside the
    database) or "production" (collected static files, this worker's Redis database as its cache,
    an empty home folder). ``environment`` adds variables; "{folder}" in a value is the server's
    folder. Starting gunicorn took 1-3 s a test; each test still gets the data as it started
    (``SiteServer.reset``), but what a process counts (/metrics) goes on from the tests before."""
    from finews.testing import redis
    from finews.testing.server import Servers

    servers, started = Servers(), {}

    def serve(settings="development", sample_posts=False, workers=2, **environment):
        key = (settings, sample_posts, workers, tuple(sorted(environment.items())))
        if key not in started:
            folder = tmp_path_factory.mktemp(f"{settings}-server")
            database, template = folder / "site.sqlite3", _sqlite_templates(sample_posts)
            copy_sqlite(template, database)
            given = {name: value.format(folder=folder) for name, value in environment.items()}
            if settings == "production":
                (folder / "home").mkdir()  # the site's user's home (deploy/): gunicorn writes nothing there
                variables = _production(
                    folder,
                    DATABASE_URL=f"sqlite:///{database}",
                    STATIC_ROOT=str(request.getfixturevalue("collected_static")),
                    SECURE_SSL_REDIRECT="false",
                    REDIS_URL=redis.worker_url(),
                    LOCAL_MEMORY_CACHE="false",
                    HOME=str(folder / "home"),
                    **given,
                )
            else:
                # As a newcomer runs it: none of the variables a test run or an operator may have set.
                unset = {"DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"}
                variables = {name: value for name, value in os.environ.items() if name not in unset}
                variables.update(
                    DJANGO_SETTINGS_MODULE="finews.settings.development", DATABASE_URL=f"sqlite:///{database}", **given
                )
            url = servers.get(key, variables, workers=workers)
            started[key] = SiteServer(url, variables, database, template, folder)
        server = started[key]
        server.reset()
        return server

    yield serve
    servers.close()


class PostgresPrimary:
    """The session's throwaway PostgreSQL server (``postgres_primary``): ``server``, a
    finews.testing.postgres.Server, logging every statement; ``site_database(name)`` creates the
    database ``name`` there as a copy of one migrated with sample_posts/_posts imported, made on the
    first call, and returns its URL."""

    TEMPLATE = "finews_sample_posts"

    def __init__(self, server, folder):
        self.server, self.folder, self.template_made = server, folder, False

    def site_database(self, name):
        if not self.template_made:
            self.server.sql(f'CREATE DATABASE "{self.TEMPLATE}"')
            environment = _production(self.folder, DATABASE_URL=self.server.url(self.TEMPLATE))
            _site_command(environment, "migrate", "--no-input")
            _site_command(environment, "import_posts", SAMPLE_POSTS)
            self.template_made = True
        self.server.sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.TEMPLATE}"')
        return self.server.url(name)


@pytest.fixture(scope="session")
def postgres_primary(tmp_path_factory):
    """A PostgreSQL server of the session's own (a PostgresPrimary) for the tests that need a server
    to themselves (a replica of it, pg_dump and pg_restore): started, migrated and imported once a
    session instead of once a test. Skips without PostgreSQL's binaries, except in CI
    (FINEWS_REQUIRE_POSTGRESQL=1)."""
    from finews.testing import postgres

    if not postgres.installed():
        if os.environ.get("FINEWS_REQUIRE_POSTGRESQL"):
            raise RuntimeError("PostgreSQL's server binaries are required (apt-get install postgresql)")
        pytest.skip("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    # Every statement logged: test_replicas.py reads which server answered.
    with postgres.primary(log_statements=True) as server:
        yield PostgresPrimary(server, tmp_path_factory.mktemp("postgres-template"))
