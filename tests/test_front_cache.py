"""Varnish in front of gunicorn, with the project's VCL: what readers, editors and the import see.

Needs varnishd with vmod-xkey (apt-get install varnish varnish-modules) and Redis; skipped without
Varnish, except in CI (FINEWS_REQUIRE_VARNISH=1).
"""

import contextlib
import datetime as dt
import gzip
import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.db import connection

from finews.testing import redis, varnish
from finews.testing.server import gunicorn
from tests.conftest import CORPUS_DIR

from .test_production import production_environment

BASE_DIR = Path(__file__).resolve().parents[1]
# An East Money item of 2022 from the corpus: months older than anything the tests add.
OLD_POST = CORPUS_DIR / "2022-01-07-NW202201072239950893.md"
FRESH_WITHIN_SECONDS = 1.0

if not varnish.installed():
    if os.environ.get("FINEWS_REQUIRE_VARNISH"):
        raise RuntimeError("Varnish is required for the front cache tests (apt-get install varnish varnish-modules)")
    pytest.skip("Varnish is not installed (apt-get install varnish varnish-modules)", allow_module_level=True)

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses a SQLite file and servers of its own; runs once, in the SQLite pass"
)

REDIS_URL = redis.worker_url()


class Front:
    """Requests through the Varnish on ``varnish_port``; ``manage`` runs the site's commands."""

    def __init__(self, varnish_port, manage):
        self.varnish_port, self.manage = varnish_port, manage

    def get(self, path, cookies=None):
        """GET ``path`` through Varnish: (status, headers, body)."""
        return self.request("GET", path, headers={"Cookie": cookies} if cookies else {})

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.varnish_port, timeout=10)
        try:
            connection.request(method, path, body=body, headers={"Host": "finews.example.com", **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            connection.close()

    def shows_within(self, path, text, seconds=FRESH_WITHIN_SECONDS):
        """Whether the page at ``path`` shows ``text`` through Varnish within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.get(path)[2]:
                return True
            time.sleep(0.02)
        return False


class Site(Front):
    """gunicorn with Varnish in front, both on free ports, sharing one SQLite file and Redis."""

    def __init__(self, tmp_path, migrated_sqlite, collected_static):
        self.tmp_path = tmp_path
        self.varnish_port = varnish.free_port()
        self.environment = production_environment(
            tmp_path,
            # The import the site's setup ran, from a copy the run made once.
            DATABASE_URL=migrated_sqlite(tmp_path / "production.sqlite3", sample_posts=True, more_posts=[OLD_POST]),
            STATIC_ROOT=str(collected_static),
            SECURE_SSL_REDIRECT="false",
            REDIS_URL=REDIS_URL,
            LOCAL_MEMORY_CACHE="false",
            FRONT_CACHE_URLS=f"http://127.0.0.1:{self.varnish_port}",
        )
        subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=True, capture_output=True)

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


def purge(port, keys, source="127.0.0.1", announced=0):
    """PURGE sent to Varnish from the local address ``source``; returns the status."""
    request = f"PURGE / HTTP/1.1\r\nHost: varnish\r\nxkey-purge: {keys}\r\nX-Announced: {announced}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as sock:
        sock.sendall(f"{request}Connection: close\r\n\r\n".encode())
        return int(sock.recv(200).split()[1])


def new_post(folder, info_code, title, date=None, category="cailianshe"):
    """A post file in ``folder``, dated ``date`` (default: now, in Beijing time, as the scraper dates them)."""
    date = date or f"{dt.datetime.now(dt.UTC) + dt.timedelta(hours=8):%Y-%m-%d %H:%M:%S} +0800"
    path = folder / f"{date[:10]}-{info_code}.md"
    path.write_text(
        f'---\nlayout: post\ntitle: "{title}"\ndate: {date}\ncategories: {category}\ntags: 财联社新闻\n---\n'
        f"<p>（测试）{title}。</p>\n",
        encoding="utf-8",
    )
    return path


# The module's own site, not site_server's: no other module serves this configuration (a
# Varnish of its own is in its environment), and its tests share state in order (the last one
# leaves that Varnish storing nothing finews renders).
@pytest.fixture(scope="module")
def site(tmp_path_factory, migrated_sqlite, collected_static):
    site = Site(tmp_path_factory.mktemp("front-cache"), migrated_sqlite, collected_static)
    with gunicorn(site.environment) as backend, varnish.varnish(backend, port=site.varnish_port) as front:
        site.backend, site.front = backend, front
        # The sample posts were imported before Varnish ran: this makes what the site had kept
        # cold, as an operator's purge_cache after a deploy does.
        site.manage("purge_cache")
        yield site


OLD_ARTICLE = "/news/NW202201072239950893/"


def article_path(site, info_code):
    status, headers, _ = site.get(f"/news/{info_code}/")
    assert status == 301, status
    return urllib.parse.urlsplit(headers["Location"]).path


def test_a_second_request_is_a_hit(site):
    path = article_path(site, "NW202201072239950893")
    first = site.get(path)
    time.sleep(1.1)  # Age counts whole seconds: a page rendered for this request says 0
    second = site.get(path)

    assert first[0] == second[0] == 200 and "中国太保以优质服务构建差异化竞争能力" in first[2] and second[2] == first[2]
    assert second[1]["X-Cache"] == "HIT" and int(second[1]["Age"]) >= 1
    assert "xkey" not in second[1] and "Set-Cookie" not in second[1]
    assert "s-maxage" in second[1]["Cache-Control"] and "max-age=0" in second[1]["Cache-Control"]


def test_varnish_logs_what_a_request_was_but_not_its_timings(site):
    path = article_path(site, "NW202201072239950893")
    site.get(path)

    logged = varnish.log(site.front, "ReqURL", "RespStatus", "Timestamp", "ReqAcct", "Hit")

    assert re.search(rf"ReqURL\s+{re.escape(path)}$", logged, re.MULTILINE) and "RespStatus" in logged
    assert not re.search(r"Timestamp|ReqAcct|\bHit\b", logged)


def raw_get(site, path, **headers):
    """GET ``path`` through Varnish: (headers, undecoded body)."""
    connection = http.client.HTTPConnection("127.0.0.1", site.varnish_port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "finews.example.com", **headers})
        response = connection.getresponse()
        return response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("page", ["article", "/", "/feed.xml", "/sitemap.xml"])
def test_pages_are_stored_compressed_and_served_plain_to_a_client_without_gzip(site, page):
    path = article_path(site, "NW202201072239950893") if page == "article" else page
    raw_get(site, path, **{"Accept-Encoding": "gzip"})
    zipped_headers, zipped = raw_get(site, path, **{"Accept-Encoding": "gzip, deflate, br"})
    plain_headers, plain = raw_get(site, path)

    assert zipped_headers["X-Cache"] == plain_headers["X-Cache"] == "HIT"
    assert zipped_headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped_headers["Vary"]
    assert "Content-Encoding" not in plain_headers and gzip.decompress(zipped) == plain
    assert len(zipped) < len(plain) / 2


def test_an_imported_post_shows_within_a_second_while_an_old_article_stays_a_hit(site, tmp_path):
    old = article_path(site, "NW202201072239950893")
    site.get(old)
    for path in ("/", "/category/cailianshe/"):
        site.get(path)
    assert site.get("/")[1]["X-Cache"] == "HIT"

    site.manage("import_posts", str(new_post(tmp_path, "NW202611260000000101", "前端缓存测试：新消息到达")))

    assert site.shows_within("/", "前端缓存测试：新消息到达")
    assert site.shows_within("/category/cailianshe/", "前端缓存测试：新消息到达")
    status, headers, body = site.get(old)
    assert status == 200 and headers["X-Cache"] == "HIT"


def test_the_7x24_fragment_is_kept_by_varnish_and_shows_a_new_post_within_a_second(site, tmp_path):
    fragment = BeautifulSoup(site.get("/7x24/")[2], "lxml").select_one("[data-live]")["data-live"]
    site.get(fragment)
    status, headers, body = site.get(fragment)
    assert status == 200 and headers["X-Cache"] == "HIT" and 'data-count="0"' in body

    site.manage("import_posts", str(new_post(tmp_path, "NW202611260000000301", "七乘二十四：刚到的快讯")))

    assert site.shows_within(fragment, "七乘二十四：刚到的快讯")
    assert site.get(fragment)[1]["X-Cache"] == "HIT"


def test_an_admin_correction_shows_within_a_second(site):
    path = article_path(site, "NW202611200000000001")
    assert site.get(path)[0] == 200 and site.get(path)[1]["X-Cache"] == "HIT"
    site.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; User.objects.create_superuser('desk', password='改-标题-测试')",
    )
    cookies = log_in(site, "desk", "改-标题-测试")
    change_page = f"/admin/articles/article/{article_pk(site, 'NW202611200000000001')}/change/"

    form = admin_form(site, change_page, cookies)
    form["title"] = "更正后的标题：前端缓存"
    status = post_admin_form(site, change_page, form, cookies)

    assert status == 302, status
    assert site.shows_within(path, "更正后的标题：前端缓存")
    assert site.shows_within("/", "更正后的标题：前端缓存")


def article_pk(site, info_code):
    output = site.manage(
        "shell", "-c", f"from articles.models import Article; print(Article.objects.get(info_code='{info_code}').pk)"
    )
    return int(output.strip().splitlines()[-1])


def admin_form(site, path, cookies):
    """The fields of the admin form at ``path`` as a browser would send them unchanged."""
    _, _, page = site.request("GET", path, headers={"X-Forwarded-Proto": "https", "Cookie": cookies})
    form = BeautifulSoup(page, "lxml").select_one("form#article_form")
    fields = {}
    for field in form.select("input[name], textarea[name], select[name]"):
        name, kind = field["name"], field.get("type", "")
        if field.name == "textarea":
            fields.setdefault(name, []).append(field.get_text())
        elif field.name == "select":
            fields.setdefault(name, []).extend(option.get("value", "") for option in field.select("option[selected]"))
        elif kind in ("checkbox", "radio"):
            if field.has_attr("checked"):
                fields.setdefault(name, []).append(field.get("value", "on"))
        elif kind not in ("submit", "file", "button"):
            fields.setdefault(name, []).append(field.get("value", ""))
    return fields


def test_a_scheduled_article_appears_through_varnish_on_time(site):
    site.manage(
        "shell",
        "-c",
        "import datetime as dt; from django.utils import timezone; from articles import publishing; "
        "from articles.models import Article, Category; "
        "publishing.save_article(Article(title='定时发布：准点出现', category=Category.objects.get(name='cailianshe'), "
        "status='published', published_at=timezone.now() + dt.timedelta(seconds=10)))",
    )
    # Ten seconds: starting manage.py on a loaded machine took more than four, the time this had.
    due = time.monotonic() + 10
    site.get("/")
    status, headers, body = site.get("/")
    assert headers["X-Cache"] == "HIT" and "定时发布：准点出现" not in body
    assert int(headers["Cache-Control"].split("s-maxage=")[1].split(",")[0]) <= 10

    time.sleep(max(0, due - time.monotonic()))

    assert site.shows_within("/", "定时发布：准点出现")


def test_an_editor_is_never_served_a_cached_page_and_never_fills_the_cache(site):
    site.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from articles.models import Article; "
        "User.objects.create_superuser('chief', password='前端-缓存-测试-密码'); "
        "Article.objects.filter(info_code='202611190000000004').update(status='draft')",
    )
    cookies = log_in(site, "chief", "前端-缓存-测试-密码")
    draft_preview = "/news/202611190000000004/?preview=1"

    status, headers, body = site.get(draft_preview, cookies=cookies)
    again = site.get(draft_preview, cookies=cookies)

    assert status == 200 and headers["X-Cache"] == "MISS" and again[1]["X-Cache"] == "MISS"
    assert "private" in headers["Cache-Control"]
    # What the editor was shown was not kept for readers: the draft is still unseen, and a
    # reader's ?preview= is sent to the reader's page.
    status, headers, _ = site.get(draft_preview)
    assert status == 302 and site.get(headers["Location"])[0] == 404
    assert site.get("/", cookies=cookies)[1]["X-Cache"] == "MISS"


def post_admin_form(site, path, form, cookies):
    """POST ``form`` to the admin page at ``path`` as a browser behind the HTTPS proxy would; the status."""
    status, _, _ = site.request(
        "POST",
        path,
        body=urllib.parse.urlencode(form, doseq=True),
        headers={
            "X-Forwarded-Proto": "https",
            "Cookie": cookies,
            "Referer": f"https://finews.example.com{path}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    return status


def log_in(site, username, password):
    """Log in to the admin through Varnish, as a browser behind the HTTPS proxy would; returns
    the cookies as a Cookie header (they are Secure: a cookie jar would keep them off http)."""
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


def test_purges_from_other_addresses_are_refused(site):
    path = article_path(site, "NW202201072239950893")
    site.get(path)

    assert purge(site.varnish_port, "all", source="127.0.0.2") == 403
    assert site.get(path)[1]["X-Cache"] == "HIT"
    assert purge(site.varnish_port, "all<script>") == 400


def test_a_dead_varnish_never_breaks_an_import(site, tmp_path):
    environment = {**site.environment, "FRONT_CACHE_URLS": f"http://127.0.0.1:{varnish.free_port()}"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "import_posts",
            str(new_post(tmp_path, "NW202611260000000102", "没有前端缓存也能导入")),
        ],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0 and "1 created" in result.stdout
    assert "Front cache purge failed" in result.stdout


def test_a_varnish_that_never_answers_holds_no_import(site, tmp_path):
    """Three tries of 2 s for each post used to add 6 s to every imported post; the purge sender
    holds none, and the exiting import waits FRONT_CACHE_EXIT_WAIT_SECONDS at most, saying so (the
    run would time out if it waited for a purge)."""
    for number in range(3):
        new_post(tmp_path, f"NW20261126000000020{number}", f"前端缓存不应答第{number}条")
    with socket.socket() as silent:  # takes connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        environment = {
            **site.environment,
            "FRONT_CACHE_URLS": f"http://127.0.0.1:{silent.getsockname()[1]}",
            # A purge waited for would hold the import ten minutes: past the run's own timeout.
            "FRONT_CACHE_TIMEOUT_SECONDS": "600",
            "FRONT_CACHE_EXIT_WAIT_SECONDS": "1",
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "import_posts", str(tmp_path)],
            cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=180,
        )  # fmt: skip

    assert result.returncode == 0 and "3 created" in result.stdout, result.stderr
    assert "Front cache purge not sent before exit" in result.stdout


# Last of the tests on the shared site: after it, that Varnish keeps nothing finews renders.
def test_a_page_begun_before_an_announcement_already_purged_is_not_kept(site):
    # An announcement the site has not seen yet was purged: whatever finews renders now began
    # before it, as a page rendered while a change commits would have.
    assert purge(site.varnish_port, "a0", announced=10**14) == 200

    first, second = site.get("/archive/"), site.get("/archive/")

    assert first[0] == second[0] == 200 and second[1]["X-Cache"] == "MISS"


def test_cached_pages_are_served_while_finews_is_down(site):
    # A gunicorn of its own to stop, on the module's database, and a Varnish of its own in front of
    # it (the module's keeps serving from the module's gunicorn).
    with contextlib.ExitStack() as backend_running:
        backend = backend_running.enter_context(gunicorn(site.environment))
        with varnish.varnish(backend) as front:
            alone = Front(int(front.rsplit(":", 1)[1]), site.manage)
            path = article_path(alone, "NW202201072239950893")
            page = alone.get(path)[2]
            backend_running.close()
            # Expired too (a purge, as after any change): only grace may serve it now.
            assert purge(alone.varnish_port, "all") == 200

            status, headers, body = alone.get(path)

    assert status == 200 and body == page and headers["X-Cache"] == "HIT"
