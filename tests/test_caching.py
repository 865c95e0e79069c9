import contextlib
import datetime as dt
import http.server
import math
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from articles import caching, publishing
from articles.caching import NUMBER_KEY, content_version, current_version, front, keys
from articles.caching.middleware import PAGE_NUMBER_PARAMETERS, clean_query
from articles.models import Article, Category, Tag
from articles.templatetags import finews as finews_tags
from finews.settings.base import cache_from_environment
from finews.testing import redis
from finews.testing.server import free_port
from tests.conftest import post_text, run_import
from tests.factories import make_article, make_category, make_editor, make_stock

BASE_DIR = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.django_db

REDIS_URL = redis.worker_url()


def redis_at(url, settings, monkeypatch):
    """The cache as production configures it (finews.settings.base), with Redis at ``url``."""
    monkeypatch.setenv("REDIS_URL", url)
    settings.CACHES = {"default": cache_from_environment()}


@pytest.fixture(autouse=True)
def redis_cache(settings, monkeypatch):
    """The production cache backend, Redis, in a database of this worker's own."""
    redis_at(REDIS_URL, settings, monkeypatch)
    cache.set("ping", "pong")
    assert cache.get("ping") == "pong", f"Redis is expected at {REDIS_URL}"
    yield cache
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a block's on-commit callbacks, as a real transaction's commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


class FakeVarnish:
    """A front cache on a free port of 127.0.0.1 that records each PURGE's keys; ``mode`` is
    "ok" (200), "refuse" (503) or "hang" (takes the connection, never answers)."""

    def __init__(self, mode="ok"):
        self.mode, self.purges, self.connections = mode, [], 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PURGE(self):
                fake.connections += 1
                if fake.mode == "hang":
                    time.sleep(30)
                    return
                if fake.mode == "ok":
                    fake.purges.append((set(self.headers["xkey-purge"].split()), int(self.headers["X-Announced"])))
                self.send_response(200 if fake.mode == "ok" else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def purged(self):
        """Every key purged so far."""
        return set().union(*(keys for keys, _ in self.purges))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def varnish(settings):
    """A fake Varnish that finews purges (FRONT_CACHE_URLS), and ``settle()``: wait for the sender."""
    fake = FakeVarnish()
    settings.FRONT_CACHE_URLS = [fake.url]
    fake.settle = lambda: front.wait(5)
    yield fake
    fake.close()


def test_pages_are_served_from_the_cache(client, django_assert_num_queries):
    article = make_article(category=make_category("cailianshe"), title="第一篇")
    client.get("/category/cailianshe/")
    # Behind the cache's back (no write path does this): only a page rendered again would show it.
    Article.objects.filter(pk=article.pk).update(title="没有宣布的改动")

    with django_assert_num_queries(0):
        second = client.get("/category/cailianshe/").content.decode()

    assert "第一篇" in second and "没有宣布的改动" not in second


def test_a_page_is_computed_in_the_one_version_its_etag_names(client, monkeypatch):
    """A write committing while a page renders moves the version on; what the page computed
    afterwards (its side column) is still kept under the version the ETag names."""
    from articles import caching
    from articles.site import aside as side_column
    from articles.site import views

    article = make_article(title="央行宣布降准")

    def aside_after_a_write(*arguments):
        caching.announce({"site"})  # what another process's commit does, mid-render
        return side_column.aside(*arguments)

    monkeypatch.setattr(views, "aside", aside_after_a_write)
    response = client.get(article.get_absolute_url())

    version = response["ETag"].removeprefix('W/"').removesuffix('"')
    hour = int(side_column.keys.hour_start(timezone.now()).timestamp())
    assert cache.get(views.ARTICLE_FACTS_KEY.format(version=version, pk=article.pk)) is not None
    assert cache.get(side_column.ASIDE_KEY.format(version=version, hour=hour, part="hot-until")) is not None
    assert str(content_version()) != version  # the write did move it on


def test_an_imported_article_is_visible_at_once(client, committed, write_post):
    make_article(category=make_category("cailianshe"), title="旧消息")
    assert "央行新动向" not in client.get("/category/cailianshe/").content.decode()

    with committed():
        run_import(write_post("2022-01-07-NEW1.md", post_text(title='"央行新动向"')))

    assert "央行新动向" in client.get("/category/cailianshe/").content.decode()
    assert "央行新动向" in client.get("/").content.decode()
    assert "央行新动向" in client.get("/feed.xml").content.decode()


def test_an_edited_article_is_visible_at_once(client, committed):
    article = make_article(title="原标题")
    url = article.get_absolute_url()
    assert "原标题" in client.get(url).content.decode()

    with committed():
        article.title = "改后的标题"
        publishing.save_article(article)

    assert "改后的标题" in client.get(url).content.decode()


def test_a_renamed_tag_is_visible_at_once(client, committed):
    article = make_article(tags=["港股"])
    assert "港股" in client.get(article.get_absolute_url()).content.decode()

    with committed():
        tag = Tag.objects.get(name="港股")
        tag.name = "香港股市"
        publishing.save_topic(tag)

    assert "香港股市" in client.get(article.get_absolute_url()).content.decode()


def test_withdrawn_article_leaves_at_once(client, committed):
    article = make_article(category=make_category("cailianshe"), title="将被撤回")
    assert "将被撤回" in client.get("/").content.decode()

    with committed():
        publishing.set_status(Article.objects.filter(pk=article.pk), Article.Status.DRAFT)

    assert "将被撤回" not in client.get("/").content.decode()
    assert client.get(article.get_absolute_url()).status_code == 404


class TestChangesAtATime:
    """A scheduled article coming due changes pages without any write (caching/moments.py)."""

    def test_a_scheduled_article_appears_when_its_time_comes(self, client, committed, monkeypatch):
        make_article(title="已发布")
        with committed():
            make_article(title="定时稿件", published_at=timezone.now() + dt.timedelta(minutes=30))
        assert "定时稿件" not in client.get("/").content.decode()
        assert client.get("/").wsgi_request.page_cache_result == "hit"

        later = timezone.now() + dt.timedelta(minutes=31)
        monkeypatch.setattr(timezone, "now", lambda: later)

        assert "定时稿件" in client.get("/").content.decode()

    def test_reading_the_version_is_a_read(self, client, committed, monkeypatch, django_assert_num_queries):
        with committed():
            make_article(title="定时稿件", published_at=timezone.now() + dt.timedelta(minutes=30))
        before = content_version()
        later = timezone.now() + dt.timedelta(minutes=31)
        monkeypatch.setattr(timezone, "now", lambda: later)

        with django_assert_num_queries(0):
            after = content_version()

        assert after.number == before.number and str(after) != str(before)
        assert after.last_modified > before.last_modified

    def test_a_hit_is_one_round_trip_without_the_record(self, client, committed, monkeypatch):
        import redis as redis_library

        with committed():
            article = make_article(title="一篇旧闻", published_at=timezone.now() - dt.timedelta(hours=2))
        client.get(article.get_absolute_url())
        client.get(article.get_absolute_url())
        sent = []
        execute = redis_library.Redis.execute_command
        monkeypatch.setattr(
            redis_library.Redis,
            "execute_command",
            lambda client, *args, **options: sent.append(args) or execute(client, *args, **options),
        )

        assert client.get(article.get_absolute_url()).wsgi_request.page_cache_result == "hit"

        assert [command[0] for command in sent] == ["MGET"]
        assert not any(str(key).endswith(caching.RECORD_KEY) for key in sent[0][1:])

    def test_a_moment_bounds_only_the_pages_it_changes(self, client, committed):
        old = make_article(title="旧闻", published_at=timezone.now() - dt.timedelta(days=200))
        with committed():
            make_article(title="定时稿件", published_at=timezone.now() + dt.timedelta(seconds=90))

        home = client.get("/")["Cache-Control"]
        # (Not the article's page: its side column is the hour's, changed by each hour's moment.)
        category = client.get(old.category.get_absolute_url())["Cache-Control"]

        assert 80 <= int(home.split("s-maxage=")[1].split(",")[0]) <= 90
        assert "s-maxage=3600" in category

    def test_a_source_of_moments_plugs_in(self, client, committed, monkeypatch):
        from articles.caching import keys, moments

        article = make_article(title="整点变化", published_at=timezone.now() - dt.timedelta(days=3))
        at = timezone.now() + dt.timedelta(seconds=50)
        # Not the hours (an article page's side column turns with each): run in the minute before
        # one, its turn came first.
        others = [source for source in moments.SOURCES if source is not moments.hours]
        monkeypatch.setattr(
            moments, "SOURCES", [*others, lambda now: iter([moments.Moment.at_time(at, {keys.article(article.pk)})])]
        )
        with committed():
            make_article(title="随便一篇")

        control = client.get(article.get_absolute_url())["Cache-Control"]

        assert 40 <= int(control.split("s-maxage=")[1].split(",")[0]) <= 50


def test_editors_with_a_session_are_never_served_cached_pages(client):
    draft = make_article(title="草稿", status=Article.Status.DRAFT)
    client.force_login(make_editor())

    assert "草稿" in client.get(f"{draft.get_absolute_url()}?preview=1").content.decode()
    client.logout()
    assert client.get(f"{draft.get_absolute_url()}?preview=1", follow=True).status_code == 404


def test_a_lost_version_never_brings_old_pages_back(client, redis_cache):
    article = make_article(title="旧的标题")
    assert "旧的标题" in client.get(article.get_absolute_url()).content.decode()
    # The content changed with no flush reaching this cache, and Redis lost the version.
    Article.objects.filter(pk=article.pk).update(title="新的标题")
    redis_cache.delete(NUMBER_KEY)

    assert "新的标题" in client.get(article.get_absolute_url()).content.decode()


class TestDeepPages:
    """Past DIRECT_ROWS from either end a page starts from a remembered row (found from its group's
    of ANCHOR_PAGES pages); it must list what OFFSET would."""

    @pytest.fixture
    def category(self, monkeypatch):
        monkeypatch.setattr("articles.site.pagination.ANCHOR_PAGES", 2)  # groups of 40 articles
        monkeypatch.setattr("articles.site.pagination.DIRECT_ROWS", 20)
        category = make_category("shendu")
        base = timezone.now() - dt.timedelta(days=1)
        # Three articles to a minute: ties at the anchors, which the order breaks by id.
        for number in range(130):
            make_article(
                info_code=f"D{number:04d}", title=f"第{number}篇", category=category,
                published_at=base - dt.timedelta(minutes=number // 3),
            )  # fmt: skip
        return category

    def pages(self, client):
        pages = []
        for number in range(1, 8):
            soup = BeautifulSoup(
                client.get("/category/shendu/", {"page": number} if number > 1 else {}).content, "lxml"
            )
            pages.append([link["href"].split("/")[2] for link in soup.select("main li a[href^='/news/']")])
        return pages

    def expected(self, category):
        codes = list(
            Article.objects.filter(category=category)
            .order_by("-published_at", "-id")
            .values_list("info_code", flat=True)
        )
        return [codes[start : start + 20] for start in range(0, len(codes), 20)]

    def test_every_page_lists_what_offset_would(self, category, client, settings):
        settings.PAGE_CACHE_SECONDS = 0
        assert self.pages(client) == self.expected(category)
        assert self.pages(client) == self.expected(category), "again, from the remembered anchors"

    def test_anchors_move_with_the_content(self, category, client, committed, settings):
        settings.PAGE_CACHE_SECONDS = 0
        self.pages(client)
        with committed():
            make_article(category=category, title="最新一篇")
            publishing.delete_articles(Article.objects.filter(info_code="D0100"))
        assert self.pages(client) == self.expected(category)


class TestPageKeys:
    """A cached page is kept per scheme, host, path and the parameters pages read; nothing else."""

    @pytest.fixture(autouse=True)
    def two_hosts(self, settings):
        settings.ALLOWED_HOSTS = ["finews.example.com", "mirror.example.org", "testserver"]

    def test_a_page_cached_for_one_host_is_never_served_to_another(self, client):
        article = make_article(title="多域名")
        url = article.get_absolute_url()

        first = client.get(url, HTTP_HOST="finews.example.com").content.decode()
        second = client.get(url, HTTP_HOST="mirror.example.org").content.decode()
        secure = client.get(url, HTTP_HOST="finews.example.com", secure=True).content.decode()

        assert f'rel="canonical" href="http://finews.example.com{url}"' in first
        assert f'rel="canonical" href="http://mirror.example.org{url}"' in second
        assert f'rel="canonical" href="https://finews.example.com{url}"' in secure

    def test_other_query_parameters_are_redirected_to_the_clean_url(self, client, django_assert_num_queries):
        make_article(category=make_category("cailianshe"))
        for asked, clean in [
            ("/?junk=1", "/"),
            ("/category/cailianshe/?utm_source=x&page=2", "/category/cailianshe/?page=2"),
            ("/category/cailianshe/?page=0002", "/category/cailianshe/?page=2"),
            ("/category/cailianshe/?page=1", "/category/cailianshe/"),
            ("/feed.xml?x=%00", "/feed.xml"),
        ]:
            with django_assert_num_queries(0):
                response = client.get(asked)
            assert response.status_code == 301 and response["Location"] == clean, asked

    @pytest.mark.parametrize(
        ("asked", "status"),
        [
            ("/category/cailianshe/?page=abc", 404),
            ("/category/cailianshe/?page=0", 404),
            ("/category/cailianshe/?page=last", 404),
            ("/category/cailianshe/?page=-1", 404),
            ("/category/cailianshe/?page=99", 404),
            ("/sitemap.xml?p=x", 404),
            ("/?page=2", 301),
            ("/feed.xml?page=3", 301),
            ("/?preview=junk", 302),
            ("/category/cailianshe/?preview=1&page=2", 302),
        ],
    )
    def test_page_parameters_that_are_not_pages_store_nothing(self, client, redis_cache, asked, status):
        article = make_article(category=make_category("cailianshe"))
        client.get("/")
        client.get(article.get_absolute_url())
        stored_before = set(redis_cache._cache.get_client().keys("*"))

        response = client.get(asked)

        assert response.status_code == status, asked
        assert "public" not in response.get("Cache-Control", "")
        pages = {key for key in redis_cache._cache.get_client().keys("*") if b"finews:page:" in key}
        assert pages <= stored_before

    @pytest.mark.parametrize(
        "asked", ["", "page=2", "page=0102", "p=3&page=4", "page=1&p=1", "page=2&page=5", "junk=1&p=12", "page=1"]
    )
    def test_the_clean_query_is_what_a_querydict_would_write(self, asked):
        query = QueryDict(asked)
        expected = QueryDict(mutable=True)
        for name in PAGE_NUMBER_PARAMETERS:
            if name in query and int(query[name]) > 1:
                expected[name] = str(int(query[name]))

        assert clean_query(query) == expected.urlencode()

    def test_a_page_number_on_an_article_is_one_address(self, client):
        article = make_article()
        response = client.get(f"{article.get_absolute_url()}?page=7")
        assert response.status_code == 301 and response["Location"] == article.get_absolute_url()

    def test_a_reader_s_preview_of_a_wrong_slug_goes_to_the_article(self, client):
        article = make_article(title="正确的标题")
        response = client.get(f"/news/{article.info_code}/wrong-slug/?preview=1", follow=True)
        assert response.redirect_chain[-1][0] == article.get_absolute_url() and response.status_code == 200

    def test_junk_parameters_store_nothing(self, client, redis_cache):
        make_article()
        client.get("/")
        keys_before = set(redis_cache._cache.get_client().keys("*"))

        for number in range(20):
            client.get(f"/?junk={number}")
            client.get(f"/search/?q=词{number}")

        assert set(redis_cache._cache.get_client().keys("*")) == keys_before

    def test_a_response_varying_on_other_headers_is_not_stored(self, client, monkeypatch):
        from django.utils.cache import patch_vary_headers

        from articles.site.views import RobotsView

        original = RobotsView.get

        def varying(self, request, *args, **kwargs):
            response = original(self, request, *args, **kwargs)
            patch_vary_headers(response, ["Accept-Language"])
            return response

        monkeypatch.setattr(RobotsView, "get", varying)
        client.get("/robots.txt")

        assert client.get("/robots.txt").wsgi_request.page_cache_result == "miss"


class TestConditionalRequests:
    """One rule for pages, feeds and the API: the content version (caching.conditional)."""

    READS = ("/", "/category/cailianshe/", "/feed.xml", "/category/cailianshe/feed/", "/api/v1/articles/")

    def test_a_page_s_etag_is_answered_before_anything_is_read_or_rendered(self, client, django_assert_num_queries):
        article = make_article(title="条件请求")
        first = client.get(article.get_absolute_url())
        assert first["ETag"].startswith('W/"') and first["Last-Modified"]

        with django_assert_num_queries(0):
            again = client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=first["ETag"])
            since = client.get(article.get_absolute_url(), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

        assert again.status_code == since.status_code == 304 and again["ETag"] == first["ETag"]

    def change(self, name, committed, monkeypatch):
        """Make the change called ``name`` that a reader of READS should see."""
        category = Article.objects.get(title="早先的消息").category
        with committed():
            if name == "new article":
                make_article(category=category, title="新到的消息")
            elif name == "withdrawal":
                publishing.set_status(Article.objects.filter(title="早先的消息"), Article.Status.DRAFT)
            elif name == "edit":
                article = Article.objects.get(title="早先的消息")
                article.summary = "改过的摘要"
                publishing.save_article(article)
            elif name == "tag rename":
                tag = Tag.objects.get(name="宏观")
                tag.name = "宏观经济"
                publishing.save_topic(tag)
            elif name == "category rename":
                category.title = "财联社电报"
                publishing.save_topic(category)
        if name == "scheduled article due":
            later = timezone.now() + dt.timedelta(minutes=11)
            monkeypatch.setattr(timezone, "now", lambda: later)

    @pytest.mark.parametrize(
        "change", ["new article", "withdrawal", "edit", "tag rename", "category rename", "scheduled article due"]
    )
    def test_every_change_a_reader_should_see_is_a_200(self, client, committed, monkeypatch, change):
        category = make_category("cailianshe")
        make_article(
            category=category, title="早先的消息", tags=["宏观"], published_at=timezone.now() - dt.timedelta(hours=1)
        )
        make_article(
            category=category, title="另一条", tags=["宏观"], published_at=timezone.now() - dt.timedelta(hours=2)
        )
        with committed():
            make_article(category=category, title="定时的消息", published_at=timezone.now() + dt.timedelta(minutes=10))
        seen = {url: client.get(url) for url in self.READS}
        for url, response in seen.items():
            assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304, url
            assert client.get(url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"]).status_code == 304, url

        self.change(change, committed, monkeypatch)

        for url, response in seen.items():
            by_etag = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
            by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
            assert by_etag.status_code == by_date.status_code == 200, (url, change)
            assert by_etag.content == by_date.content


class TestPrecisePurges:
    """A change purges from Varnish only the pages that show it (keys.py): a page stays while no
    key of its xkey header is purged. Each test's data is written and purged first (``written``)."""

    @pytest.fixture
    def written(self, committed, varnish):
        @contextlib.contextmanager
        def block():
            with committed():
                yield
            varnish.settle()
            varnish.purges.clear()

        return block

    def shown(self, client, *urls):
        return {url: set(client.get(url)["xkey"].split()) for url in urls}

    def changed(self, committed, varnish, change):
        with committed():
            change()
        varnish.settle()
        return varnish.purged()

    def test_an_old_article_stays_across_an_unrelated_import(self, client, committed, written, write_post, varnish):
        with written():
            old = make_article(
                category=make_category("emnews"),
                title="半年前的消息",
                published_at=timezone.now() - dt.timedelta(days=180),
            )
            # A busy site: 热门股票 counts the hours before this one, where the import does not reach.
            make_article(
                category=make_category("other"),
                stocks=[make_stock("601601")],
                published_at=keys.hour_start(timezone.now()) - dt.timedelta(hours=1),
            )
        pages = self.shown(client, old.get_absolute_url(), "/")
        post = write_post("2026-11-26-NEWS1.md", post_text(title='"今天的新消息"', date="2026-11-26 09:00:00 +0800"))

        purged = self.changed(committed, varnish, lambda: run_import(post))

        assert pages[old.get_absolute_url()].isdisjoint(purged) and not pages["/"].isdisjoint(purged)

    def test_a_new_article_becomes_its_neighbour_s_next_link(self, client, committed, written, varnish):
        with written():
            category = make_category("cailianshe")
            previous = make_article(
                category=category, title="前一篇", published_at=timezone.now() - dt.timedelta(hours=2)
            )
        pages = self.shown(client, previous.get_absolute_url())

        purged = self.changed(
            committed,
            varnish,
            lambda: make_article(
                category=category, title="刚到的后一篇", published_at=timezone.now() - dt.timedelta(minutes=5)
            ),
        )

        assert not pages[previous.get_absolute_url()].isdisjoint(purged)
        assert "刚到的后一篇" in client.get(previous.get_absolute_url()).content.decode()

    def test_an_article_older_than_its_whole_category_becomes_the_oldest_ones_link(
        self, client, committed, written, varnish
    ):
        with written():
            category = make_category("cailianshe")
            oldest = make_article(category=category, published_at=timezone.now() - dt.timedelta(days=60))
            make_article(category=category, published_at=timezone.now() - dt.timedelta(days=2))
        pages = self.shown(client, oldest.get_absolute_url())

        purged = self.changed(
            committed,
            varnish,
            lambda: make_article(
                category=category, title="更早的旧闻", published_at=timezone.now() - dt.timedelta(days=400)
            ),
        )

        assert f"co{category.pk}" in purged and not pages[oldest.get_absolute_url()].isdisjoint(purged)
        assert "更早的旧闻" in client.get(oldest.get_absolute_url()).content.decode()

    def test_an_article_dated_between_two_neighbours_becomes_both_their_link(self, client, committed, written, varnish):
        with written():
            category = make_category("cailianshe")
            older = make_article(category=category, published_at=timezone.now() - dt.timedelta(days=60))
            newer = make_article(category=category, published_at=timezone.now() - dt.timedelta(days=2))
            oldest = make_article(category=category, published_at=timezone.now() - dt.timedelta(days=400))
        pages = self.shown(client, *(article.get_absolute_url() for article in (older, newer, oldest)))

        purged = self.changed(
            committed,
            varnish,
            lambda: make_article(
                category=category, title="补发的旧闻", published_at=timezone.now() - dt.timedelta(days=30)
            ),
        )

        assert not pages[older.get_absolute_url()].isdisjoint(purged)
        assert not pages[newer.get_absolute_url()].isdisjoint(purged)
        # The oldest's links stay; its side column, the latest of a quiet category, shows it.
        assert pages[oldest.get_absolute_url()] & purged <= {
            keys.quiet_category_before_hour(category.pk),
            keys.HOT_QUIET,
        }
        assert "补发的旧闻" in client.get(older.get_absolute_url()).content.decode()
        assert "补发的旧闻" in client.get(newer.get_absolute_url()).content.decode()

    def test_a_new_article_enters_the_related_news_of_articles_around_it_only(
        self, client, committed, written, varnish
    ):
        with written():
            stock = make_stock("601601", name="中国太保")
            near = make_article(
                title="两天前的太保消息", stocks=[stock], published_at=timezone.now() - dt.timedelta(days=2)
            )
            far = make_article(
                title="一月前的太保消息", stocks=[stock], published_at=timezone.now() - dt.timedelta(days=30)
            )
        pages = self.shown(client, near.get_absolute_url(), far.get_absolute_url())

        purged = self.changed(
            committed,
            varnish,
            lambda: make_article(
                title="太保今日公告", stocks=[stock], published_at=timezone.now() - dt.timedelta(minutes=1)
            ),
        )

        assert not pages[near.get_absolute_url()].isdisjoint(purged)
        # Its related news stay; only the latest of its quiet category may have changed.
        assert pages[far.get_absolute_url()] & purged <= {keys.quiet_category_before_hour(far.category_id)}
        assert "太保今日公告" in client.get(near.get_absolute_url()).content.decode()

    def test_a_renamed_category_purges_its_articles_but_not_others(self, client, committed, written, varnish):
        with written():
            renamed, other = make_category("cailianshe"), make_category("emnews")
            in_renamed, in_other = make_article(category=renamed), make_article(category=other)
        pages = self.shown(client, in_renamed.get_absolute_url(), in_other.get_absolute_url())
        renamed.title = "财联社电报"

        purged = self.changed(committed, varnish, lambda: publishing.save_topic(renamed))

        assert not pages[in_renamed.get_absolute_url()].isdisjoint(purged)
        assert pages[in_other.get_absolute_url()].isdisjoint(purged)
        assert "财联社电报" in client.get(in_renamed.get_absolute_url()).content.decode()

    def test_a_draft_saved_purges_no_public_page(self, client, committed, written, varnish):
        with written():
            article = make_article(title="已发布的文章")
        pages = self.shown(client, article.get_absolute_url(), "/")
        draft = Article(category=article.category, title="未发布的草稿", status=Article.Status.DRAFT)

        purged = self.changed(committed, varnish, lambda: publishing.save_article(draft))

        assert all(keys.isdisjoint(purged) for keys in pages.values())

    def test_an_archive_day_page_changes_with_its_day_only(self, client, committed, written, varnish):
        day = timezone.localtime() - dt.timedelta(days=40)
        with written():
            make_article(title="那天的消息", published_at=day)
            make_article(published_at=day - dt.timedelta(days=6))
            make_article(published_at=day - dt.timedelta(days=3))
            make_article(published_at=day + dt.timedelta(days=3))
        day_url, other_url = f"/archive/{day:%Y/%m/%d}/", f"/archive/{day - dt.timedelta(days=3):%Y/%m/%d}/"
        pages = self.shown(client, day_url, other_url)

        purged = self.changed(
            committed, varnish, lambda: make_article(title="同一天的另一条", published_at=day + dt.timedelta(minutes=1))
        )

        assert not pages[day_url].isdisjoint(purged) and pages[other_url].isdisjoint(purged)
        assert "同一天的另一条" in client.get(day_url).content.decode()


class TestSharedCacheHeaders:
    def test_a_public_page_names_what_it_shows_and_may_be_kept_by_shared_caches(self, client, settings):
        stock = make_stock("601601", name="中国太保")
        article = make_article(tags=["保险"], stocks=[stock])

        response = client.get(article.get_absolute_url())

        shown = set(response["xkey"].split())
        assert {"all", f"a{article.pk}", f"c{article.category_id}", f"s{stock.pk}"} <= shown
        assert f"t{Tag.objects.get(name='保险').pk}" in shown
        control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"public", "max-age=0"} <= control
        # Kept until the hour turns (its side column is the hour's: site/aside.py).
        next_hour = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
        s_maxage = int(response["Cache-Control"].split("s-maxage=")[1].split(",")[0])
        assert 0 <= s_maxage <= min(settings.FRONT_CACHE_SECONDS, (next_hour - timezone.now()).total_seconds() + 1)
        assert f"stale-if-error={settings.FRONT_CACHE_STALE_IF_ERROR_SECONDS}" in control
        assert not response.cookies
        # The same headers when the page comes from the cache.
        again = client.get(article.get_absolute_url())
        assert again.wsgi_request.page_cache_result == "hit" and again["xkey"] == response["xkey"]

    def test_a_hit_has_every_header_of_the_miss_that_stored_it(self, client):
        article = make_article(category=make_category("cailianshe"), tags=["保险"])
        for url in (article.get_absolute_url(), "/category/cailianshe/", "/", "/robots.txt"):
            miss = client.get(url)
            hit = client.get(url)

            assert (miss.wsgi_request.page_cache_result, hit.wsgi_request.page_cache_result) == ("miss", "hit")
            # s-maxage counts down to the next moment: a second may pass between the two.
            without_age = [(name, re.sub(r"s-maxage=\d+", "", value)) for name, value in miss.items()]
            assert without_age == [(name, re.sub(r"s-maxage=\d+", "", value)) for name, value in hit.items()], url
            assert hit["Content-Security-Policy"] == miss["Content-Security-Policy"], url
            assert hit.content == miss.content

    def test_search_may_be_kept_by_shared_caches_but_not_by_the_page_cache(self, client):
        make_article(title="央行宣布降准")

        response = client.get("/search/", {"q": "降准"})

        assert "site" in response["xkey"].split() and "s-maxage" in response["Cache-Control"]
        assert not hasattr(client.get("/search/", {"q": "降准"}).wsgi_request, "page_cache_result")

    def test_nothing_sent_to_a_logged_in_editor_may_be_shared(self, client):
        article = make_article()
        client.force_login(make_editor())

        response = client.get(article.get_absolute_url())

        assert "private" in response["Cache-Control"] and "xkey" not in response

    def test_errors_and_redirects_are_not_for_shared_caches(self, client):
        missing = client.get("/news/NOSUCHCODE/")
        assert "public" not in missing.get("Cache-Control", "") and "ETag" not in missing
        article = make_article()
        assert "public" not in client.get(f"/news/{article.info_code}/").get("Cache-Control", "")


class TestPurgeSender:
    """Purges leave the write at once: a sender thread per Varnish sends them (front.py)."""

    def test_a_varnish_that_never_answers_adds_nothing_to_a_save(self, committed, settings):
        category = make_category("cailianshe")  # and pypinyin loaded, before the clock starts
        hanging = FakeVarnish("hang")
        settings.FRONT_CACHE_URLS = [hanging.url]
        try:
            started = time.monotonic()
            with committed():
                article = make_article(category=category, title="照常保存")
            saved_in = time.monotonic() - started
        finally:
            hanging.close()

        assert Article.objects.get(pk=article.pk).title == "照常保存"
        assert saved_in < settings.FRONT_CACHE_TIMEOUT_SECONDS / 2, saved_in

    def test_ten_imported_posts_are_one_purge(self, committed, write_post, tmp_path, varnish):
        for number in range(10):
            write_post(
                f"2026-11-26-NW10{number}.md", post_text(title=f'"第{number}条"', date="2026-11-26 09:00:00 +0800")
            )

        with committed():
            succeeded, stdout, _ = run_import(tmp_path)
        varnish.settle()

        assert succeeded and "10 created" in stdout
        assert len(varnish.purges) == 1

    def test_a_failed_purge_is_sent_again_once_the_varnish_answers(self, committed, settings, caplog):
        refusing = FakeVarnish("refuse")
        settings.FRONT_CACHE_URLS = [refusing.url]
        try:
            with committed():
                article = make_article(title="稍后清除")
            deadline = time.monotonic() + 5
            while refusing.connections == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            refusing.mode = "ok"
            while not refusing.purges and time.monotonic() < deadline + 5:
                time.sleep(0.05)  # the first retry comes FIRST_RETRY_SECONDS after the refusal
            front.wait(5)  # the sender logs once the Varnish's answer is read
        finally:
            refusing.close()

        assert f"a{article.pk}" in refusing.purged()
        assert f"Front cache purge failed url={refusing.url}" in caplog.text
        assert "Front cache purges go through again" in caplog.text

    def test_what_an_exiting_import_could_not_send_the_next_process_sends(self, committed, settings, caplog):
        refusing = FakeVarnish("refuse")
        settings.FRONT_CACHE_URLS = [refusing.url]
        settings.FRONT_CACHE_EXIT_WAIT_SECONDS = 0.5
        try:
            with committed():
                article = make_article(title="退出前未清除")
            exiting = front._senders()[refusing.url]
            front._at_exit()
            # That process is gone: its sender sends nothing more.
            with exiting._changed:
                exiting._keys.clear()
                exiting._retry_at = math.inf
            refusing.mode = "ok"
            front._process.update(pid=None)  # the next process (an import run, a web worker)

            front.start()
            deadline = time.monotonic() + 5
            while f"a{article.pk}" not in refusing.purged() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            refusing.close()

        assert f"a{article.pk}" in refusing.purged()
        assert "handed over to the next sender" in caplog.text
        assert f"Front cache purge taken over url={refusing.url}" in caplog.text

    def test_a_malformed_key_is_logged_and_left_out(self, caplog, varnish):
        from articles.caching import announce

        announce({"a1", "bad key\r\nX-Injected: 1"})
        varnish.settle()

        assert varnish.purged() == {"a1"} and "malformed" in caplog.text

    def test_purge_cache_makes_every_page_cold(self, client, varnish):
        article = make_article(title="模板改了")
        client.get(article.get_absolute_url())
        # What no write announces (a template or code change, here a title changed by SQL) shows
        # only on a page rendered again.
        Article.objects.filter(pk=article.pk).update(title="清空之后才看得到")
        assert "清空之后才看得到" not in client.get(article.get_absolute_url()).content.decode()

        call_command("purge_cache", stdout=StringIO())

        assert "清空之后才看得到" in client.get(article.get_absolute_url()).content.decode()
        assert varnish.purged() == {"all"}

    def test_a_lost_counter_starts_again_from_the_clock_past_every_number_used(self, varnish):
        from articles.caching import announce

        announce({"a1"})
        before = cache.get(NUMBER_KEY)
        cache.delete(NUMBER_KEY)  # evicted, or Redis restarted
        announce({"a1"})
        varnish.settle()

        assert cache.get(NUMBER_KEY) > max(before, time.time_ns() // 1_000_000 - 60_000)
        assert varnish.purges[-1][1] == cache.get(NUMBER_KEY)

    def test_purge_cache_refuses_what_is_not_a_key(self):
        with pytest.raises(CommandError, match="Not surrogate keys: a1;rm"):
            call_command("purge_cache", "a1;rm")


class TestListItems:
    """List items are rendered once and kept by all they show (templatetags/finews.py)."""

    def test_an_item_is_rendered_once_for_every_list_it_is_on(self, client, monkeypatch, settings):
        settings.PAGE_CACHE_SECONDS = 0
        make_article(category=make_category("cailianshe"), title="只渲染一次")
        client.get("/category/cailianshe/")
        rendered = []
        original = finews_tags.render_to_string
        monkeypatch.setattr(finews_tags, "render_to_string", lambda *a, **k: rendered.append(a) or original(*a, **k))

        page = client.get("/category/cailianshe/").content.decode()

        assert "只渲染一次" in page and rendered == []

    def test_an_item_shown_before_is_kept_in_the_process_when_the_cache_has_lost_it(
        self, client, monkeypatch, settings
    ):
        settings.PAGE_CACHE_SECONDS = 0
        make_article(category=make_category("cailianshe"), title="进程里留着")
        client.get("/category/cailianshe/")
        cache.clear()
        rendered = []
        original = finews_tags.render_to_string
        monkeypatch.setattr(finews_tags, "render_to_string", lambda *a, **k: rendered.append(a) or original(*a, **k))

        page = client.get("/category/cailianshe/").content.decode()

        assert "进程里留着" in page and rendered == []

    def test_a_renamed_category_shows_in_every_item(self, client, committed, settings):
        settings.PAGE_CACHE_SECONDS = 0
        category = make_category("cailianshe")
        make_article(category=category, title="分类改名")
        client.get("/")

        with committed():
            category.title = "财联社电报"
            publishing.save_topic(category)

        item = BeautifulSoup(client.get("/").content, "lxml").find("a", string="分类改名").find_parent("li")
        assert "财联社电报" in item.get_text()

    def test_an_edited_article_shows_in_its_item(self, client, committed, settings):
        settings.PAGE_CACHE_SECONDS = 0
        article = make_article(category=make_category("cailianshe"), summary="旧摘要")
        client.get("/category/cailianshe/")

        with committed():
            article.summary = "新摘要"
            publishing.save_article(article)

        assert "新摘要" in client.get("/category/cailianshe/").content.decode()


class TestVersionFacts:
    """What is computed per content version is also kept in the process, as the very object."""

    def test_computed_once_and_kept_in_the_process_when_the_cache_has_lost_it(self):
        computed = []

        def compute():
            computed.append(1)
            return {"copies": [1, 2]}

        key = f"finews:test-facts:{current_version()}"
        first = caching.version_facts(key, compute)
        cache.clear()

        assert caching.version_facts(key, compute) is first and computed == [1]

    def test_each_process_keeps_its_most_recently_used_facts_only(self, monkeypatch):
        monkeypatch.setattr(caching, "VERSION_FACTS_IN_PROCESS", 2)
        computed = []

        def facts(name):
            return caching.version_facts(f"finews:test-facts:{name}", lambda: computed.append(name) or name)

        for name in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" comes
            facts(name)
        cache.clear()
        for name in ("a", "c", "b"):
            facts(name)

        assert computed == ["a", "b", "c", "b"]

    def test_an_article_page_shows_a_change_at_once(self, client, committed, settings):
        settings.PAGE_CACHE_SECONDS = 0
        category = make_category("cailianshe")
        article = make_article(category=category, tags=["降准"])
        client.get(article.get_absolute_url())

        with committed():
            make_article(category=category, tags=["降准"], title="新的相关消息")

        assert "新的相关消息" in client.get(article.get_absolute_url()).content.decode()


class SilentServer:
    """Takes connections on a free port and never answers; counts them."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port, self.connections, self.held = self.socket.getsockname()[1], 0, []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(connection)

    def close(self):
        self.socket.close()
        for held in self.held:
            held.close()


class TestRedisOutage:
    """Redis refusing or hanging: pages, imports and saves go on without the cache (finews/cache.py)."""

    @pytest.fixture(autouse=True)
    def purge_senders_left_alone(self, monkeypatch):
        # The purge senders that earlier tests started stay alive and every 30 s look in the shared
        # cache for handed-over keys, from threads (and cache connections, and outage logs) of their
        # own: these tests count the requests'.
        monkeypatch.setattr(front.Sender, "_take_over", lambda sender: None)

    PAGES = ("/", "/category/cailianshe/", "/feed.xml", "/search/?q=停摆", "/api/v1/articles/")

    def test_pages_and_the_import_go_on_and_the_outage_is_logged_once(
        self, client, settings, monkeypatch, write_post, caplog
    ):
        redis_at(f"redis://127.0.0.1:{free_port()}/0", settings, monkeypatch)

        succeeded, stdout, _ = run_import(write_post("2026-11-26-NWDOWN1.md", post_text(title='"缓存停摆时的新闻"')))
        assert succeeded and "1 created" in stdout
        for url in self.PAGES:
            response = client.get(url)
            assert response.status_code == 200, url
            assert "NWDOWN1" in response.content.decode(), url
        assert caplog.text.count("Redis is unreachable") == 1

    def test_an_editors_save_goes_on(self, settings, monkeypatch, committed):
        article = make_article(title="原标题")
        redis_at(f"redis://127.0.0.1:{free_port()}/0", settings, monkeypatch)

        article.title = "缓存停摆时的更正"
        with committed():
            publishing.save_article(article, user=make_editor())
        assert Article.objects.get().title == "缓存停摆时的更正"

    def test_the_front_caches_are_purged_but_told_no_number_of_this_process_alone(
        self, settings, monkeypatch, committed, varnish
    ):
        # Varnish keeps no page begun before the newest number it was told: a number only this
        # process knows (Redis cannot share it) would make it refuse every page until it is reached.
        article = make_article(title="原标题")
        redis_at(f"redis://127.0.0.1:{free_port()}/0", settings, monkeypatch)

        article.title = "缓存停摆时的更正"
        with committed():
            publishing.save_article(article)
        varnish.settle()

        [(purged_keys, announced)] = varnish.purges
        assert f"a{article.pk}" in purged_keys and announced == 0

    def test_a_hanging_redis_is_tried_once_then_left_alone(self, client, settings, monkeypatch):
        make_article(category=make_category("cailianshe"), title="缓存停摆时的新闻")
        silent = SilentServer()
        try:
            redis_at(f"redis://127.0.0.1:{silent.port}/0", settings, monkeypatch)

            assert "缓存停摆时的新闻" in client.get("/category/cailianshe/").content.decode()
            tried = silent.connections
            for url in self.PAGES:
                assert client.get(url).status_code == 200
        finally:
            silent.close()

        # One connection (and its 1 s timeout) for the first request; none for the next five.
        assert tried >= 1 and silent.connections == tried


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses a SQLite file of its own; runs once, in the SQLite pass"
)
def test_in_development_an_import_in_another_process_shows_at_once(site_server, write_post):
    """The development default, as a newcomer runs it: the site in one process, the import in another
    (a cache per process kept the home page an import had changed for ten minutes)."""
    server = site_server(sample_posts=True)

    def get(path):
        return urllib.request.urlopen(f"{server.url}{path}", timeout=10).read().decode()

    def hits():
        counted = re.search(r'^finews_page_cache_requests_total\{result="hit"\} (\S+)$', get("/metrics"), re.M)
        return float(counted[1]) if counted else 0.0

    hits_before = hits()
    before = get("/")
    get("/")
    assert hits() == hits_before + 1  # the second was kept
    new_post = write_post("2026-11-30-NWLATE1.md", post_text(title='"另一个终端导入的新闻"'))
    subprocess.run(
        [sys.executable, "manage.py", "import_posts", str(new_post), "-v0"],
        cwd=BASE_DIR,
        env=server.environment,
        check=True,
    )
    after = get("/")

    assert "另一个终端导入的新闻" not in before and "另一个终端导入的新闻" in after
    assert Path(f"{server.database}-cache").is_dir()


class TestMigrations:
    """A data migration changes pages without a write through publishing: migrate announces it."""

    @staticmethod
    def migrated(name):
        from django.apps import apps
        from django.db.migrations.loader import MigrationLoader
        from django.db.models.signals import post_migrate

        migration = MigrationLoader(connection).graph.nodes[("articles", name)]
        config = apps.get_app_config("articles")
        post_migrate.send(
            sender=config, app_config=config, verbosity=0, interactive=False, using="default",
            plan=[(migration, False)], apps=apps,
        )  # fmt: skip

    def test_a_data_migration_purges_every_page(self, client, varnish):
        make_article(category=make_category("站长消息旧名", slug="sitenews"), title="一篇站务")
        assert "站长消息旧名" in client.get("/category/sitenews/").content.decode()
        # What 0020 does: an UPDATE no write path sees.
        Category.objects.filter(slug="sitenews").update(name="站长消息")

        self.migrated("0020_sitenews_title")
        varnish.settle()

        assert [keys for keys, _announced in varnish.purges] == [{"all"}]
        page = client.get("/category/sitenews/").content.decode()
        assert "站长消息" in page and "站长消息旧名" not in page

    def test_a_schema_migration_purges_nothing(self, varnish):
        before = content_version().number

        self.migrated("0019_story_order_index")
        varnish.settle()

        assert content_version().number == before and varnish.purges == []
