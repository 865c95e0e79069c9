"""Backups (articles/operations/backups.py): `manage.py backup`, then `manage.py restore` into an
empty database, served by gunicorn with the same pages and covers as the original.

On PostgreSQL (a throwaway server of the test's own: finews/testing/postgres.py; pg_dump and
pg_restore from Debian's postgresql-client) and on SQLite (its online backup). Both run once, in the
SQLite pass; the PostgreSQL case is skipped without PostgreSQL's binaries, except in CI
(FINEWS_REQUIRE_POSTGRESQL=1).
"""

import contextlib
import http.client
import subprocess
import sys
import tarfile
import urllib.parse
import uuid
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.db import connection

from finews.testing.server import gunicorn

from .test_production import production_environment

BASE_DIR = Path(__file__).resolve().parents[1]
COVERED_ARTICLE = "NW202611180000000005"
PAGES = ["/", "/category/cailianshe/", "/archive/", "/feed.xml", "/sitemap.xml", f"/news/{COVERED_ARTICLE}/"]

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses databases of its own; runs once, in the SQLite pass"
)

ADD_COVER = f"""
import io
from PIL import Image
from django.core.files.uploadedfile import SimpleUploadedFile
from articles import publishing
from articles.models import Article
image = io.BytesIO()
Image.new("RGB", (640, 360), (200, 30, 30)).save(image, "PNG")
article = Article.objects.get(info_code="{COVERED_ARTICLE}")
article.cover_image = SimpleUploadedFile("封面.png", image.getvalue(), content_type="image/png")
publishing.save_article(article)
"""


def manage(environment, *args, succeed=True):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=300
    )
    if succeed:
        assert result.returncode == 0, result.stderr
    return result


def get(url, path):
    """(status, body bytes) of ``path`` from the server at ``url``, asked for as 127.0.0.1."""
    parts = urllib.parse.urlsplit(url)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        client.request("GET", path, headers={"Host": "finews.example.com"})
        response = client.getresponse()
        return response.status, response.read()
    finally:
        client.close()


def page_and_cover(url):
    """Every page of PAGES (the article's after its redirect) and the cover's bytes, from ``url``."""
    served = {}
    for path in PAGES:
        status, body = get(url, path)
        if status == 301:
            parts = urllib.parse.urlsplit(url)
            client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
            client.request("GET", path, headers={"Host": "finews.example.com"})
            location = client.getresponse().headers["Location"]
            client.close()
            status, body = get(url, urllib.parse.urlsplit(location).path)
        assert status == 200, (path, status)
        served[path] = body
    cover = BeautifulSoup(served[f"/news/{COVERED_ARTICLE}/"], "lxml").select_one("img.cover")["src"]
    status, served["cover"] = get(url, cover)
    assert status == 200 and served["cover"].startswith(b"\x89PNG")
    return served


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_backup_restored_into_an_empty_database_serves_the_same_pages_and_covers(
    request, tmp_path, engine, site_server
):
    if engine == "sqlite":
        # The session's production server, reset to the sample posts, serves the original.
        server = site_server("production", sample_posts=True)
        site, serving = server.environment, contextlib.nullcontext(server.url)
        restored_url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    else:
        primary = request.getfixturevalue("postgres_primary")
        name = f"site_{uuid.uuid4().hex[:12]}"
        site = production_environment(
            tmp_path,
            DATABASE_URL=primary.site_database(name),
            SECURE_SSL_REDIRECT="false",
            STATIC_ROOT=str(request.getfixturevalue("collected_static")),
        )
        serving = gunicorn(site, workers=1)
        # As the README says to.
        createdb = ["createdb", "-h", "127.0.0.1", "-p", str(primary.server.port), "-U", "postgres", f"restored_{name}"]
        subprocess.run(createdb, check=True, capture_output=True)
        restored_url = primary.server.url(f"restored_{name}")

        @request.addfinalizer
        def drop():
            for database in (name, f"restored_{name}"):
                primary.server.sql(f'DROP DATABASE "{database}" WITH (FORCE)')

    manage(site, "shell", "-c", ADD_COVER)

    backup = manage(site, "backup", str(tmp_path / "backups")).stdout.split("Backed up to ")[1].strip()
    restored = {
        **site,
        "DATABASE_URL": restored_url,
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        # A cache of its own: the original's Redis would hand the copy the original's pages.
        "REDIS_URL": "",
        "LOCAL_MEMORY_CACHE": "true",
    }
    said = manage(restored, "restore", backup).stdout

    assert "Restored" in said and "1 media files" not in said  # the cover, its thumbnail and the lists' rendition
    with serving as original, gunicorn(restored, workers=1) as copy:
        assert page_and_cover(copy) == page_and_cover(original)
    # Nothing left to migrate: the restored database is the site's, migrations included.
    assert "No migrations to apply" in manage(restored, "migrate", "--no-input").stdout

    again = manage(restored, "restore", backup, succeed=False)
    assert again.returncode == 1 and "The database is not empty" in again.stderr


def test_a_restore_never_replaces_a_different_cover(tmp_path, migrated_sqlite):
    site = production_environment(tmp_path, DATABASE_URL=migrated_sqlite(tmp_path / "site.sqlite3", sample_posts=True))
    manage(site, "shell", "-c", ADD_COVER)
    backup = manage(site, "backup", str(tmp_path / "backups")).stdout.split("Backed up to ")[1].strip()
    stored = next(Path(site["MEDIA_ROOT"]).rglob("*.png"))
    stored.write_bytes(b"a cover changed since the backup")
    restored = {**site, "DATABASE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}"}

    result = manage(restored, "restore", backup, succeed=False)

    assert result.returncode == 1 and "differs from the backup's copy: not overwritten" in result.stderr
    assert stored.read_bytes() == b"a cover changed since the backup"
    assert "articles_article" not in manage(restored, "shell", "-c", _TABLES).stdout


_TABLES = "from django.db import connection; print(connection.introspection.table_names())"


# Python before 3.11.4 (Debian 12, the production host, has 3.11.2): no extraction filters.
_PYTHON_3_11_2_TARFILE = """
import tarfile
del tarfile.data_filter
_extractall = tarfile.TarFile.extractall
def extractall(self, path=".", members=None, *, numeric_owner=False):
    return _extractall(self, path, members, numeric_owner=numeric_owner)
tarfile.TarFile.extractall = extractall
"""


def test_a_restore_on_debian_12s_python_brings_the_covers_back(tmp_path, migrated_sqlite):
    site = production_environment(tmp_path, DATABASE_URL=migrated_sqlite(tmp_path / "site.sqlite3", sample_posts=True))
    manage(site, "shell", "-c", ADD_COVER)
    backup = manage(site, "backup", str(tmp_path / "backups")).stdout.split("Backed up to ")[1].strip()
    (tmp_path / "python-3.11.2").mkdir()
    (tmp_path / "python-3.11.2" / "sitecustomize.py").write_text(_PYTHON_3_11_2_TARFILE)
    restored = {
        **site,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "PYTHONPATH": str(tmp_path / "python-3.11.2"),
    }

    said = manage(restored, "restore", backup).stdout

    assert "Restored" in said
    covers = {path.relative_to(site["MEDIA_ROOT"]): path.read_bytes() for path in Path(site["MEDIA_ROOT"]).rglob("*.*")}
    assert len(covers) == 3  # the cover, its thumbnail and the lists' rendition
    assert {path: (Path(restored["MEDIA_ROOT"]) / path).read_bytes() for path in covers} == covers


def test_a_media_archive_reaching_outside_media_root_is_refused_before_anything_is_written(tmp_path, migrated_sqlite):
    site = production_environment(tmp_path, DATABASE_URL=migrated_sqlite(tmp_path / "site.sqlite3"))
    backup = Path(manage(site, "backup", str(tmp_path / "backups")).stdout.split("Backed up to ")[1].strip())
    (tmp_path / "outside.png").write_bytes(b"planted")
    with tarfile.open(backup / "media.tar", "w") as archive:
        archive.add(tmp_path / "outside.png", arcname="../../outside-media.png")
    restored = {**site, "DATABASE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}"}

    result = manage(restored, "restore", str(backup), succeed=False)

    assert result.returncode == 1 and "'../../outside-media.png', not a file inside MEDIA_ROOT" in result.stderr
    assert not (Path(site["MEDIA_ROOT"]).parent.parent / "outside-media.png").exists()
    assert "articles_article" not in manage(restored, "shell", "-c", _TABLES).stdout
