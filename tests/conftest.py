from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction


def pytest_configure(config):
    """Start the run's own Redis (finews/testing/redis.py) once, before any worker: the workers
    inherit its address."""
    import os

    from finews.testing import redis

    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("TEST_REDIS_URL") or redis.URL_VARIABLE in os.environ:
        return
    process, url = redis.start()
    os.environ[redis.URL_VARIABLE] = url
    config.add_cleanup(process.terminate)


CORPUS_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "finews-posts"
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

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def reader(client):
    """An anonymous client in the steady state: the page cache's per-version lookup already done.

    Request it after the fixtures that create data, so query counts measure only the page itself.
    """
    client.get("/robots.txt")
    return client
