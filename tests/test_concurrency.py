"""Imports as cron runs them: repeatedly, and sometimes two at once on the same folder."""

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from finews.testing.server import gunicorn
from tests.conftest import post_text

BASE_DIR = Path(__file__).resolve().parents[1]


def _server_url():
    settings = connection.settings_dict
    return f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"


def _create_database(template=None):
    name = f"finews_scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop_database(name):
    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def _postgres_template():
    """A PostgreSQL database migrated once for the module; each test gets a copy (CREATE DATABASE …
    TEMPLATE), as each SQLite test gets a copy of the run's migrated file."""
    name = _create_database()
    manage(f"{_server_url()}/{name}", "migrate", "--no-input").check_returncode()
    yield name
    _drop_database(name)


@pytest.fixture
def scratch_database(request, tmp_path, migrated_sqlite):
    """A migrated database of the engine under test that other processes can share."""
    if connection.vendor == "postgresql":
        name = _create_database(template=request.getfixturevalue("_postgres_template"))
        yield f"{_server_url()}/{name}"
        _drop_database(name)
    else:
        yield migrated_sqlite(tmp_path / "scratch.sqlite3")


def environment(database_url):
    return {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "finews.settings.development"}


def manage(database_url, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environment(database_url),
        capture_output=True,
        text=True,
    )


def read_rows(database_url, query):
    """The rows of ``query``, read straight from the database (a Django process takes a second)."""
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as database:
            return database.execute(query).fetchall()
    with psycopg.connect(database_url) as database:
        return database.execute(query).fetchall()


def article_count(database_url):
    """Articles and distinct info codes."""
    (counts,) = read_rows(database_url, "SELECT COUNT(*), COUNT(DISTINCT info_code) FROM articles_article")
    return [str(count) for count in counts]


def test_two_imports_of_the_same_folder_at_once(scratch_database, corpus_dir, tmp_path):
    folder = tmp_path / "posts"
    shutil.copytree(corpus_dir, folder)
    command = [sys.executable, "manage.py", "import_posts", str(folder)]
    runs = [
        subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=environment(scratch_database),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]

    for stdout, stderr in outputs:
        assert "Traceback" not in stderr and "locked" not in stderr, stderr
        assert "1 rejected" in stdout and "files were rejected" in stderr
    expected = len(list(corpus_dir.glob("*.md"))) - 1
    assert article_count(scratch_database) == [str(expected), str(expected)]


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(scratch_database):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    query = "from django.db import connection as c; c.cursor().execute('select 1'); print(c.cursor().execute('pragma journal_mode').fetchone()[0], c.connection.execute('pragma busy_timeout').fetchone()[0])"
    assert manage(scratch_database, "shell", "--no-imports", "-c", query).stdout.split() == ["wal", "30000"]


def test_cron_runs_pick_up_new_and_changed_files(scratch_database, tmp_path):
    folder = tmp_path / "_posts"
    folder.mkdir()
    (folder / "2022-01-07-A1.md").write_text(post_text(title='"第一篇"'), encoding="utf-8")
    first = manage(scratch_database, "import_posts", str(folder))
    assert "1 created" in first.stdout

    (folder / "2022-01-07-A2.md").write_text(post_text(title='"第二篇"'), encoding="utf-8")
    (folder / "2022-01-07-A1.md").write_text(post_text(title='"第一篇（更正）"'), encoding="utf-8")
    second = manage(scratch_database, "import_posts", str(folder))

    assert second.returncode == 0
    assert "2 files: 1 created, 1 updated, 0 unchanged, 0 conflict, 0 rejected" in second.stdout
    third = manage(scratch_database, "import_posts", str(folder))
    assert "2 files: 0 created, 0 updated, 2 unchanged" in third.stdout


def test_readers_keep_getting_pages_while_an_import_runs(request, scratch_database, tmp_path):
    from finews.testing.synthetic import write_posts

    if connection.vendor == "sqlite":
        # The session's development server, reset to the sample posts.
        server = request.getfixturevalue("site_server")(sample_posts=True)
        database_url, serving = f"sqlite:///{server.database}", contextlib.nullcontext(server.url)
    else:
        database_url, serving = scratch_database, gunicorn(environment(scratch_database))
        manage(database_url, "import_posts", str(BASE_DIR / "sample_posts" / "_posts")).check_returncode()
    posts = write_posts(tmp_path / "incoming", 150)
    statuses, failures = [], []

    def read_pages(base_url, stop):
        paths = ["/", "/category/emnews/", "/feed.xml", "/search/?q=%E5%A4%AE%E8%A1%8C", "/archive/"]
        while not stop.is_set():
            for path in paths:
                try:
                    statuses.append(urllib.request.urlopen(f"{base_url}{path}", timeout=30).status)
                except Exception as error:  # every failure is a finding: counted and shown
                    failures.append(f"{path}: {error}")

    with serving as base_url:
        stop = threading.Event()
        readers = [threading.Thread(target=read_pages, args=(base_url, stop)) for _ in range(2)]
        for reader in readers:
            reader.start()
        imported = manage(database_url, "import_posts", str(posts))
        stop.set()
        for reader in readers:
            reader.join(timeout=60)

    assert imported.returncode == 0 and "150 created" in imported.stdout, imported.stderr
    assert failures == [] and len(statuses) >= 20 and set(statuses) == {200}


def test_watch_imports_posts_as_they_arrive_until_stopped(scratch_database, tmp_path):
    folder = tmp_path / "_posts"
    folder.mkdir()
    (folder / "2022-01-07-W1.md").write_text(post_text(title='"已在文件夹里"'), encoding="utf-8")
    watcher = subprocess.Popen(
        [sys.executable, "manage.py", "import_posts", str(folder), "--watch", "--interval", "0.2"],
        cwd=BASE_DIR,
        env=environment(scratch_database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while article_count(scratch_database)[0] != "1" and time.monotonic() < deadline:
            time.sleep(0.2)
        with_a_change = post_text(title='"新到的消息"', extra="responsible_editor: 钱七\n")
        (folder / "2022-01-07-W2.md").write_text(with_a_change, encoding="utf-8")
        while article_count(scratch_database)[0] != "2" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert article_count(scratch_database) == ["2", "2"]
    finally:
        watcher.terminate()
        stdout, stderr = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, stderr
    assert "1 files: 1 created" in stdout and "Stopped watching." in stdout
    # Each cycle that did something is an import run of its own; idle cycles are not recorded.
    runs = read_rows(scratch_database, "SELECT source, result, created FROM articles_importrun ORDER BY id")
    assert runs == [("watch", "ok", 1), ("watch", "changes", 1)]
    changes = read_rows(scratch_database, "SELECT info_code, outcome, reason FROM articles_importproblem")
    assert changes == [("W2", "changed", "responsible editor '钱七' matches no user; left out")]


def test_watch_says_when_its_folder_does_not_exist_and_imports_once_it_does(scratch_database, tmp_path):
    folder = tmp_path / "scraper" / "_posts"
    watcher = subprocess.Popen(
        [sys.executable, "manage.py", "import_posts", str(folder), "--watch", "--interval", "0.2"],
        cwd=BASE_DIR,
        env=environment(scratch_database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)  # cycles with the folder missing: said once, not once a cycle
        folder.mkdir(parents=True)
        (folder / "2022-01-07-W1.md").write_text(post_text(title='"文件夹后来才有"'), encoding="utf-8")
        deadline = time.monotonic() + 30
        while article_count(scratch_database)[0] != "1" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert article_count(scratch_database) == ["1", "1"]
    finally:
        watcher.terminate()
        stdout, stderr = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, stderr
    logged = stdout + stderr
    assert logged.count(f"{folder} does not exist; watching for it to appear") == 1, logged
    assert f"{folder} is there now" in logged


def _processes_holding(path):
    """The ids of the processes that have the file ``path`` open (Linux's /proc)."""
    holders = set()
    for process in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == str(path) for fd in (process / "fd").iterdir()):
                holders.add(int(process.name))
    return holders


def test_gunicorn_workers_keep_their_sqlite_connection_between_requests(migrated_sqlite, tmp_path):
    # Opening the file and reading its schema again on each request was a quarter of a list page's time.
    database = tmp_path / "site.sqlite3"
    database_url = migrated_sqlite(database, sample_posts=True)
    with gunicorn(environment(database_url), workers=1) as base_url:
        for path in ("/archive/", "/category/emnews/"):
            assert urllib.request.urlopen(f"{base_url}{path}", timeout=30).status == 200
        assert len(_processes_holding(database)) == 1  # the one worker, between requests
