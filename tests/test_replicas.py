"""Read replicas (finews/replicas.py) against a real PostgreSQL primary and a streaming replica of it.

The tests start both themselves (finews/testing/postgres.py: initdb and ``pg_basebackup -R`` from
Debian's PostgreSQL binaries, on free ports), then gunicorn with DATABASE_REPLICA_URLS, Redis shared
with the commands that write. Each server logs every statement, so a request for an article that
does not exist (its info code appears in no other query) shows which server answered it.
Skipped without PostgreSQL's server binaries, except in CI (FINEWS_REQUIRE_POSTGRESQL=1).
"""

import http.client
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from django.db import connection

from finews.testing import postgres, redis
from finews.testing.server import gunicorn

from .test_production import production_environment

BASE_DIR = Path(__file__).resolve().parents[1]
MAX_LAG_SECONDS = 3
CHECK_SECONDS = 0.25

if not postgres.installed():
    if os.environ.get("FINEWS_REQUIRE_POSTGRESQL"):
        raise RuntimeError(
            "PostgreSQL's server binaries are required for the replica tests (apt-get install postgresql)"
        )
    pytest.skip("PostgreSQL's server binaries are not installed (apt-get install postgresql)", allow_module_level=True)

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="starts PostgreSQL servers of its own; runs once, in the SQLite pass"
)

_probes = itertools.count(1)


class Site:
    """gunicorn reading a primary and its streaming replica, with the commands that write beside it."""

    def __init__(self, tmp_path, primary, replica, collected_static):
        self.primary, self.replica = primary.server, replica
        self.environment = production_environment(
            tmp_path,
            SECURE_SSL_REDIRECT="false",
            REDIS_URL=redis.worker_url(),
            LOCAL_MEMORY_CACHE="false",
            # The session's database with the sample posts, copied: no migrate and import here.
            DATABASE_URL=primary.site_database("finews"),
            STATIC_ROOT=str(collected_static),
            DATABASE_REPLICA_URLS=replica.url("finews"),
            DATABASE_REPLICA_MAX_LAG_SECONDS=str(MAX_LAG_SECONDS),
            DATABASE_REPLICA_CHECK_SECONDS=str(CHECK_SECONDS),
        )
        subprocess.run(["redis-cli", "-u", redis.worker_url(), "flushdb"], check=True, capture_output=True)
        postgres.wait_until_replayed(self.primary, replica)

    def manage(self, *args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body) of ``path`` from gunicorn."""
        parts = urllib.parse.urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers={"Host": "finews.example.com", **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            connection.close()

    def get(self, path, cookies=None):
        return self.request("GET", path, headers={"Cookie": cookies} if cookies else {})

    def answered_by(self, cookies=None):
        """Which server a request for an article reads ("primary" or "replica"): it asks for an info
        code no query has named before, and looks for it in each server's log."""
        code = f"PROBE{os.getpid()}x{next(_probes)}"
        status = self.get(f"/news/{code}/", cookies)[0]
        assert status == 404, status
        servers = [name for name, server in self.servers() if code in server.statements()]
        assert len(servers) == 1, servers
        return servers[0]

    def servers(self):
        return [("primary", self.primary), ("replica", self.replica)]

    def sql(self, statement, parameters=()):
        return self.primary.sql(statement, parameters, database="finews")


# The module's own replica and gunicorn (the session's primary): no other module reads a replica,
# and the tests pause and resume its replay.
@pytest.fixture(scope="module")
def site(tmp_path_factory, postgres_primary, collected_static):
    with postgres.replica_of(postgres_primary.server, log_statements=True) as replica:
        site = Site(tmp_path_factory.mktemp("replicas"), postgres_primary, replica, collected_static)
        try:
            # One worker: what it last found of the replica is what the next request goes by.
            with gunicorn(site.environment, workers=1) as url:
                site.url = url
                yield site
        finally:
            postgres_primary.server.sql('DROP DATABASE "finews" WITH (FORCE)')


@pytest.fixture
def paused_replica(site):
    """The replica with its replay paused: it receives the primary's changes and applies none.
    gunicorn read it just before, caught up (within a check of the replica once it is)."""
    assert eventually(lambda: site.answered_by() == "replica", 5)
    site.replica.sql("SELECT pg_wal_replay_pause()")
    yield site.replica
    site.replica.sql("SELECT pg_wal_replay_resume()")
    postgres.wait_until_replayed(site.primary, site.replica)


def article_path(site, info_code):
    status, headers, _ = site.get(f"/news/{info_code}/")
    assert status == 301, status
    return urllib.parse.urlsplit(headers["Location"]).path


def eventually(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_readers_pages_are_read_from_the_replica(site):
    assert site.answered_by() == "replica"
    assert json.loads(site.get("/healthz")[2]) == {
        "status": "ok",
        "database": "ok",
        "replicas": {"replica_1": "lag 0.0 s"},
    }
    path = article_path(site, "NW202611180000000005")
    status, _, body = site.get(path)
    assert status == 200 and "NW202611180000000005" in body


def test_an_editor_reads_the_primary(site):
    site.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; User.objects.create_superuser('replica-desk', password='副本-测试-密码')",
    )
    cookies = log_in(site, "replica-desk", "副本-测试-密码")

    assert site.answered_by(cookies) == "primary"
    assert site.answered_by() == "replica"


def test_a_change_is_read_at_once_while_the_replica_has_not_applied_it(site, paused_replica):
    path = article_path(site, "NW202611180000000006")
    assert site.get(path)[0] == 200  # kept by the page cache, read from the replica

    site.manage(
        "shell",
        "-c",
        "from articles import publishing; from articles.models import Article; "
        "article = Article.objects.get(info_code='NW202611180000000006'); article.title = '副本未跟上时的更正'; "
        "publishing.save_article(article)",
    )

    # The replica lacks the change: the page is read from the primary, and the page cache keeps that.
    assert "副本未跟上时的更正" in site.get(path)[2]
    assert site.answered_by() == "primary"
    assert "副本未跟上时的更正" in site.get(path)[2]


@pytest.fixture
def draft(site):
    """The info_code of a draft that readers have never been shown (set by SQL, replayed)."""
    info_code = "202611170000000008"
    site.sql("UPDATE articles_article SET status = 'draft' WHERE info_code = %s", (info_code,))
    postgres.wait_until_replayed(site.primary, site.replica)
    yield info_code
    site.sql("UPDATE articles_article SET status = 'published' WHERE info_code = %s", (info_code,))


def test_a_replica_further_behind_than_the_limit_is_not_read(site, draft, paused_replica):
    # A change the caches are not told of (SQL by hand): a replica inside the limit may still lack
    # the article, one beyond it no longer answers. (Published, not withdrawn: an article page's
    # article is kept per content version, which SQL by hand does not move; a 404 is never kept.)
    site.sql("UPDATE articles_article SET status = 'published' WHERE info_code = %s", (draft,))
    written = time.monotonic()
    assert site.get(f"/news/{draft}/")[0] == 404, "read from the replica, within the limit"
    assert time.monotonic() - written < MAX_LAG_SECONDS

    assert eventually(lambda: site.get(f"/news/{draft}/")[0] == 301, MAX_LAG_SECONDS + 3)
    # The lag counts from the primary's last position the replica has, noted by a check before the write.
    assert time.monotonic() - written >= MAX_LAG_SECONDS - CHECK_SECONDS - 0.5
    assert site.answered_by() == "primary"


def test_a_replica_that_catches_up_is_read_again(site):
    site.replica.sql("SELECT pg_wal_replay_pause()")
    site.sql("UPDATE articles_article SET updated_at = updated_at WHERE info_code = 'NW202611140000000013'")
    assert eventually(lambda: site.answered_by() == "primary", MAX_LAG_SECONDS + 3)

    site.replica.sql("SELECT pg_wal_replay_resume()")

    assert eventually(lambda: site.answered_by() == "replica", 5)


def test_a_replica_stopped_mid_run_leaves_readers_on_the_primary_until_it_returns(site):
    # Kept pages (answered by the page cache) and pages read from the database every time.
    pages = [("/", 200), ("/category/cailianshe/", 200), (article_path(site, "NW202611150000000011"), 200)]
    pages += [(f"/news/MISSING{number}/", 404) for number in range(3)]
    answers, stop = [], threading.Event()

    def read_pages():
        for path, expected in itertools.cycle(pages):
            if stop.is_set():
                return
            answers.append((path, site.get(path)[0], expected))

    reader = threading.Thread(target=read_pages)
    reader.start()
    try:
        time.sleep(0.5)
        site.replica.stop("fast")
        time.sleep(1)
        stopped_answers = len(answers)
        assert site.answered_by() == "primary"
        health = json.loads(site.get("/healthz")[2])
        assert health["status"] == "ok" and health["replicas"]["replica_1"].startswith("down (")

        site.replica.start()
        assert eventually(lambda: site.answered_by() == "replica", 10)
    finally:
        stop.set()
        reader.join()

    assert stopped_answers > 0 and len(answers) > stopped_answers
    assert [answer for answer in answers if answer[1] != answer[2]] == []


@pytest.fixture
def replica_resumed_after(site):
    """For a test that pauses the replica's replay itself: resumed, and caught up, after it."""
    yield site.replica
    site.replica.sql("SELECT pg_wal_replay_resume()")
    postgres.wait_until_replayed(site.primary, site.replica)


def test_reads_in_a_transaction_and_commands_read_the_primary(site, replica_resumed_after):
    # One process sees the replica caught up, then the replica stops applying a change.
    output = site.manage(
        "shell",
        "-c",
        "from django.db import connections, transaction; from finews import replicas; "
        "import time; from articles.models import Article\n"
        "title = lambda: Article.objects.get(info_code='NW202611150000000012').title\n"
        "replicas.replica_set.check()\n"
        "while not replicas.replica_set.states['replica_1'].usable:\n"
        "    time.sleep(0.3); replicas.replica_set.check()\n"
        "with replicas.reading_replicas():\n"
        "    print('before', title())\n"
        "connections['replica_1'].cursor().execute('SELECT pg_wal_replay_pause()')\n"
        "connections['default'].cursor().execute(\"UPDATE articles_article SET title = '只在主库' "
        "WHERE info_code = 'NW202611150000000012'\")\n"
        "print('command', title())\n"
        "with replicas.reading_replicas():\n"
        "    print('reader', title())\n"
        "    with transaction.atomic():\n"
        "        print('transaction', title())\n",
    )

    said = dict(line.split(" ", 1) for line in output.splitlines() if line)
    assert said["command"] == "只在主库" and said["transaction"] == "只在主库"
    assert said["reader"] == said["before"] != "只在主库"


def test_settings_refuse_replicas_of_sqlite(tmp_path):
    environment = production_environment(tmp_path, DATABASE_REPLICA_URLS="postgres://postgres@127.0.0.1:5432/finews")

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "DATABASE_REPLICA_URLS names PostgreSQL streaming replicas of DATABASE_URL" in result.stderr


def log_in(site, username, password):
    """Log in to the admin as a browser behind the HTTPS proxy would; returns the Cookie header."""
    https = {"X-Forwarded-Proto": "https"}
    _, headers, form = site.request("GET", "/admin/login/", headers=https)
    cookies = _cookies(headers)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    status, headers, _ = site.request(
        "POST",
        "/admin/login/?next=/admin/",
        body=body,
        headers={
            **https,
            "Cookie": cookies,
            "Referer": "https://finews.example.com/admin/login/",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert status == 302 and "sessionid=" in _cookies(headers), status
    return _cookies(headers)


def _cookies(headers):
    return "; ".join(value.split(";")[0] for value in headers.get_all("Set-Cookie") or ())
