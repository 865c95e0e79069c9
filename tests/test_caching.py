import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache, caches
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from articles import publishing
from articles.caching import front
from articles.models import Article, Tag
from articles.templatetags import finews as finews_tags
from finews.settings.base import cache_from_environment
from finews.testing import redis
from finews.testing.server import free_port, gunicorn
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


def test_pages_are_served_from_the_cache(client, django_assert_num_queries):
    make_article(category=make_category("cailianshe"), title="第一篇")
    first = client.get("/category/cailianshe/")

    with django_assert_num_queries(0):
        second = client.get("/category/cailianshe/")

    assert second.content == first.content and "第一篇" in second.content.decode()


def test_a_cached_page_costs_one_round_trip_to_redis(client, monkeypatch):
    make_article(category=make_category("cailianshe"), title="第一篇")
    client.get("/category/cailianshe/")
    backend, calls = caches["default"], []
    for name in ("get", "get_many", "set", "get_or_set", "incr", "add"):
        original = getattr(backend, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(backend, name, counted)

    client.get("/category/cailianshe/")

    assert calls == ["get_many"]


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


def test_a_scheduled_article_appears_when_its_time_comes(client, committed, monkeypatch):
    make_article(title="已发布")
    with committed():
        make_article(title="定时稿件", published_at=timezone.now() + dt.timedelta(minutes=30))
    assert "定时稿件" not in client.get("/").content.decode()

    later = timezone.now() + dt.timedelta(minutes=31)
    monkeypatch.setattr(timezone, "now", lambda: later)

    assert "定时稿件" in client.get("/").content.decode()


def test_editors_with_a_session_are_never_served_cached_pages(client, committed):
    draft = make_article(title="草稿", status=Article.Status.DRAFT)
    client.force_login(make_editor())

    assert "草稿" in client.get(f"{draft.get_absolute_url()}?preview=1").content.decode()
    client.logout()
    assert client.get(f"{draft.get_absolute_url()}?preview=1").status_code == 404


def test_a_lost_stamp_never_brings_old_pages_back(client, redis_cache):
    from articles.caching import KEY_STAMP, announce, keys

    article = make_article(title="旧的标题")
    assert "旧的标题" in client.get(article.get_absolute_url()).content.decode()
    # The content changed with no announcement reaching this cache, and Redis evicted a stamp.
    Article.objects.filter(pk=article.pk).update(title="新的标题")
    redis_cache.delete(KEY_STAMP.format(key=keys.article(article.pk)))
    announce({keys.article(article.pk + 1)})

    assert "新的标题" in client.get(article.get_absolute_url()).content.decode()


class TestDeepPages:
    """Past ANCHOR_PAGES pages a page starts from a remembered row; it must list what OFFSET would."""

    @pytest.fixture
    def category(self, monkeypatch):
        monkeypatch.setattr("articles.site.pagination.ANCHOR_PAGES", 2)  # groups of 40 articles
        category = make_category("shendu")
        base = timezone.now() - dt.timedelta(days=1)
        # Three articles to a minute: ties at the anchors, which the order breaks by id.
        Article.objects.bulk_create(
            Article(
                info_code=f"D{number:04d}",
                title=f"第{number}篇",
                slug=f"d{number}",
                category=category,
                status=Article.Status.PUBLISHED,
                published_at=base - dt.timedelta(minutes=number // 3),
            )
            for number in range(130)
        )
        return category

    def pages(self, category):
        from articles.site.pagination import ArticlePaginator

        paginator = ArticlePaginator(
            Article.objects.listed().filter(category=category), 20, list_key="/category/shendu/"
        )
        return [[article.info_code for article in paginator.page(number)] for number in paginator.page_range]

    def expected(self, category):
        codes = list(
            Article.objects.filter(category=category)
            .order_by("-published_at", "-id")
            .values_list("info_code", flat=True)
        )
        return [codes[start : start + 20] for start in range(0, len(codes), 20)]

    def test_every_page_lists_what_offset_would(self, category, client):
        assert self.pages(category) == self.expected(category)
        assert self.pages(category) == self.expected(category), "again, from the remembered anchors"
        content = client.get("/category/shendu/", {"page": 7}).content.decode()
        assert all(f"/news/{code}/" in content for code in self.expected(category)[6])

    def test_anchors_move_with_the_content(self, category, committed):
        self.pages(category)
        with committed():
            make_article(category=category, title="最新一篇")
            Article.objects.filter(info_code="D0100").delete()
        assert self.pages(category) == self.expected(category)


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
            ("/?utm_source=x&page=2", "/?page=2"),
            ("/category/cailianshe/?page=0002", "/category/cailianshe/?page=2"),
            ("/category/cailianshe/?page=1", "/category/cailianshe/"),
            ("/feed.xml?x=%00", "/feed.xml"),
        ]:
            with django_assert_num_queries(0):
                response = client.get(asked)
            assert response.status_code == 301 and response["Location"] == clean, asked

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
        monkeypatch.setattr(RobotsView, "get", lambda *args, **kwargs: pytest.fail("rendered for a cached page"))

        with pytest.raises(pytest.fail.Exception):
            client.get("/robots.txt")


class TestConditionalRequests:
    def test_a_page_s_etag_is_answered_before_anything_is_read_or_rendered(self, client, django_assert_num_queries):
        article = make_article(title="条件请求")
        first = client.get(article.get_absolute_url())
        assert first["ETag"].startswith('W/"')

        with django_assert_num_queries(0):
            again = client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=first["ETag"])

        assert again.status_code == 304 and again["ETag"] == first["ETag"]

    def test_a_change_changes_the_etag(self, client, committed):
        article = make_article(title="旧标题")
        first = client.get(article.get_absolute_url())
        with committed():
            article.title = "新标题"
            publishing.save_article(article)

        again = client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=first["ETag"])

        assert again.status_code == 200 and "新标题" in again.content.decode() and again["ETag"] != first["ETag"]

    def test_a_neighbour_s_arrival_is_never_answered_not_modified(self, client, committed):
        category = make_category("cailianshe")
        previous = make_article(category=category, published_at=timezone.now() - dt.timedelta(hours=1))
        first = client.get(previous.get_absolute_url())

        with committed():
            make_article(category=category, title="后来的一篇")
        again = client.get(previous.get_absolute_url(), HTTP_IF_NONE_MATCH=first["ETag"])

        assert again.status_code == 200 and "后来的一篇" in again.content.decode()


class TestPreciseInvalidation:
    """A change makes only the pages that show it cold (articles/caching/keys.py)."""

    def cached(self, client, url):
        response = client.get(url)
        return response.wsgi_request.page_cache_result == "hit", response.content.decode()

    def test_an_old_article_stays_cached_across_an_unrelated_import(self, client, committed, write_post):
        old = make_article(
            category=make_category("emnews"), title="半年前的消息", published_at=timezone.now() - dt.timedelta(days=180)
        )
        client.get(old.get_absolute_url())

        with committed():
            run_import(
                write_post("2026-11-26-NEWS1.md", post_text(title='"今天的新消息"', date="2026-11-26 09:00:00 +0800"))
            )

        assert self.cached(client, old.get_absolute_url()) == (
            True,
            client.get(old.get_absolute_url()).content.decode(),
        )
        assert "今天的新消息" in client.get("/").content.decode()

    def test_a_new_article_becomes_its_neighbour_s_next_link(self, client, committed):
        category = make_category("cailianshe")
        previous = make_article(category=category, title="前一篇", published_at=timezone.now() - dt.timedelta(hours=2))
        client.get(previous.get_absolute_url())

        with committed():
            make_article(category=category, title="刚到的后一篇", published_at=timezone.now() - dt.timedelta(minutes=5))

        assert self.cached(client, previous.get_absolute_url())[0] is False
        assert "刚到的后一篇" in client.get(previous.get_absolute_url()).content.decode()

    def test_an_article_dated_between_two_neighbours_becomes_both_their_link(self, client, committed):
        category = make_category("cailianshe")
        older = make_article(category=category, published_at=timezone.now() - dt.timedelta(days=60))
        newer = make_article(category=category, published_at=timezone.now() - dt.timedelta(days=2))
        oldest = make_article(category=category, published_at=timezone.now() - dt.timedelta(days=400))
        for article in (older, newer, oldest):
            client.get(article.get_absolute_url())

        with committed():
            make_article(category=category, title="补发的旧闻", published_at=timezone.now() - dt.timedelta(days=30))

        assert "补发的旧闻" in self.cached(client, older.get_absolute_url())[1]
        assert "补发的旧闻" in self.cached(client, newer.get_absolute_url())[1]
        assert self.cached(client, oldest.get_absolute_url())[0] is True

    def test_a_new_article_enters_the_related_news_of_articles_around_it_only(self, client, committed):
        stock = make_stock("601601", name="中国太保")
        near = make_article(
            title="两天前的太保消息", stocks=[stock], published_at=timezone.now() - dt.timedelta(days=2)
        )
        far = make_article(
            title="一月前的太保消息", stocks=[stock], published_at=timezone.now() - dt.timedelta(days=30)
        )
        client.get(near.get_absolute_url())
        client.get(far.get_absolute_url())

        with committed():
            make_article(title="太保今日公告", stocks=[stock], published_at=timezone.now() - dt.timedelta(minutes=1))

        assert "太保今日公告" in self.cached(client, near.get_absolute_url())[1]
        assert self.cached(client, far.get_absolute_url())[0] is True

    def test_a_renamed_category_shows_on_its_articles_but_leaves_others_cached(self, client, committed):
        renamed, other = make_category("cailianshe"), make_category("emnews")
        in_renamed, in_other = make_article(category=renamed), make_article(category=other)
        client.get(in_renamed.get_absolute_url())
        client.get(in_other.get_absolute_url())

        with committed():
            renamed.title = "财联社电报"
            publishing.save_topic(renamed)

        assert "财联社电报" in self.cached(client, in_renamed.get_absolute_url())[1]
        assert self.cached(client, in_other.get_absolute_url())[0] is True

    def test_a_draft_saved_changes_no_public_page(self, client, committed):
        article = make_article(title="已发布的文章")
        client.get(article.get_absolute_url())
        client.get("/")

        with committed():
            publishing.save_article(
                Article(category=article.category, title="未发布的草稿", status=Article.Status.DRAFT)
            )

        assert self.cached(client, "/")[0] is True
        assert self.cached(client, article.get_absolute_url())[0] is True

    def test_an_archive_day_page_changes_with_its_day_only(self, client, committed):
        day = timezone.localtime() - dt.timedelta(days=40)
        article = make_article(title="那天的消息", published_at=day)
        make_article(published_at=day - dt.timedelta(days=1))
        make_article(published_at=day + dt.timedelta(days=1))
        day_url = f"/archive/{day:%Y/%m/%d}/"
        client.get(day_url)
        client.get(article.get_absolute_url())

        with committed():
            make_article(title="同一天的另一条", published_at=day + dt.timedelta(minutes=1))

        assert "同一天的另一条" in self.cached(client, day_url)[1]


class TestSharedCacheHeaders:
    def test_a_public_page_names_what_it_shows_and_may_be_kept_by_shared_caches(self, client, settings):
        stock = make_stock("601601", name="中国太保")
        article = make_article(tags=["保险"], stocks=[stock])

        response = client.get(article.get_absolute_url())

        shown = set(response["xkey"].split())
        assert {"all", f"a{article.pk}", f"c{article.category_id}", f"s{stock.pk}"} <= shown
        assert f"t{Tag.objects.get(name='保险').pk}" in shown
        control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"public", "max-age=0", f"s-maxage={settings.FRONT_CACHE_SECONDS}"} <= control
        assert f"stale-if-error={settings.FRONT_CACHE_STALE_IF_ERROR_SECONDS}" in control
        assert not response.cookies
        # The same headers when the page comes from the cache.
        assert client.get(article.get_absolute_url())["xkey"] == response["xkey"]

    def test_shared_caches_keep_pages_only_until_the_next_scheduled_article(self, client):
        make_article(title="已发布")
        make_article(title="定时稿件", published_at=timezone.now() + dt.timedelta(seconds=90))

        control = client.get("/")["Cache-Control"]

        seconds = int(control.split("s-maxage=")[1].split(",")[0])
        assert 80 <= seconds <= 90

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
        assert "public" not in client.get("/news/NOSUCHCODE/").get("Cache-Control", "")
        article = make_article()
        assert "public" not in client.get(f"/news/{article.info_code}/").get("Cache-Control", "")


class TestAnnouncing:
    def test_a_dead_front_cache_never_breaks_a_save(self, committed, settings, caplog):
        settings.FRONT_CACHE_URLS = ["http://127.0.0.1:9"]
        with committed():
            article = make_article(title="照常保存")

        assert Article.objects.get(pk=article.pk).title == "照常保存"
        assert "Front cache purge failed url=http://127.0.0.1:9" in caplog.text

    def test_a_malformed_key_is_logged_and_left_out(self, caplog, settings):
        from articles.caching import KEY_STAMP, announce

        settings.FRONT_CACHE_URLS = []
        announce({"a1", "bad key\r\nX-Injected: 1"})

        assert cache.get(KEY_STAMP.format(key="a1")) is not None
        assert "malformed" in caplog.text

    def test_purge_cache_makes_every_page_cold(self, client):
        article = make_article(title="模板改了")
        client.get(article.get_absolute_url())
        assert client.get(article.get_absolute_url()).wsgi_request.page_cache_result == "hit"

        call_command("purge_cache", stdout=StringIO())

        assert client.get(article.get_absolute_url()).wsgi_request.page_cache_result == "miss"

    def test_a_lost_counter_starts_again_from_the_clock_past_every_number_used(self, settings):
        from articles.caching import ANNOUNCED_KEY, announce

        settings.FRONT_CACHE_URLS = []
        announce({"a1"})
        before = cache.get(ANNOUNCED_KEY)
        cache.delete(ANNOUNCED_KEY)  # evicted, or Redis restarted
        announce({"a1"})

        assert cache.get(ANNOUNCED_KEY) > max(before, time.time_ns() // 1_000_000 - 60_000)

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


class TestRedisOutage:
    """Redis refusing or hanging: pages, imports and saves go on without the cache (finews/cache.py)."""

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
            # (The search index follows on commit, which a test's transaction never does.)
            assert "search" in url or "NWDOWN1" in response.content.decode(), url
        assert caplog.text.count("Redis is unreachable") == 1

    def test_an_editors_save_goes_on(self, settings, monkeypatch, django_capture_on_commit_callbacks):
        article = make_article(title="原标题")
        redis_at(f"redis://127.0.0.1:{free_port()}/0", settings, monkeypatch)

        article.title = "缓存停摆时的更正"
        with django_capture_on_commit_callbacks(execute=True):
            publishing.save_article(article, user=make_editor())
        assert Article.objects.get().title == "缓存停摆时的更正"

    def test_the_front_caches_are_purged_but_told_no_number_of_this_process_alone(
        self, settings, monkeypatch, django_capture_on_commit_callbacks
    ):
        # Varnish keeps no page begun before the newest number it was told: a number only this
        # process knows (Redis cannot share it) would make it refuse every page until it is reached.
        article = make_article(title="原标题")
        settings.FRONT_CACHE_URLS = ["http://varnish.test"]
        purges = []
        monkeypatch.setattr(front, "_send", lambda url, keys, announced: purges.append((keys, announced)) or 200)
        redis_at(f"redis://127.0.0.1:{free_port()}/0", settings, monkeypatch)

        article.title = "缓存停摆时的更正"
        with django_capture_on_commit_callbacks(execute=True):
            publishing.save_article(article)
        [(purged_keys, announced)] = purges
        assert f"a{article.pk}" in purged_keys and announced == 0

    def test_a_hanging_redis_holds_one_request_for_its_timeout_only(self, client, settings, monkeypatch):
        make_article(category=make_category("cailianshe"), title="缓存停摆时的新闻")
        with socket.socket() as silent:  # takes connections, never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            redis_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", settings, monkeypatch)

            started = time.monotonic()
            assert "缓存停摆时的新闻" in client.get("/category/cailianshe/").content.decode()
            first = time.monotonic() - started
            started = time.monotonic()
            for url in self.PAGES:
                assert client.get(url).status_code == 200
            after = time.monotonic() - started

        assert first < 5 and after < first, (first, after)  # one socket timeout (1 s), then none


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses a SQLite file of its own; runs once, in the SQLite pass"
)
def test_in_development_an_import_in_another_process_shows_at_once(tmp_path, write_post):
    """The development default, as a newcomer runs it: the site in one process, the import in another
    (a cache per process kept the home page an import had changed for ten minutes)."""
    environment = {
        **{key: value for key, value in os.environ.items() if key != "REDIS_URL"},
        "DJANGO_SETTINGS_MODULE": "finews.settings.development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
    }

    def manage(*args):
        subprocess.run([sys.executable, "manage.py", *args, "-v0"], cwd=BASE_DIR, env=environment, check=True)

    manage("migrate")
    manage("import_posts", "sample_posts/_posts")
    with gunicorn(environment, workers=1) as base_url:
        before = urllib.request.urlopen(f"{base_url}/", timeout=10).read().decode()
        urllib.request.urlopen(f"{base_url}/", timeout=10).read()
        metrics = urllib.request.urlopen(f"{base_url}/metrics", timeout=10).read().decode()
        assert 'finews_page_cache_requests_total{result="hit"} 1.0' in metrics  # the second was kept
        manage("import_posts", str(write_post("2026-11-30-NWLATE1.md", post_text(title='"另一个终端导入的新闻"'))))
        after = urllib.request.urlopen(f"{base_url}/", timeout=10).read().decode()

    assert "另一个终端导入的新闻" not in before and "另一个终端导入的新闻" in after
    assert (tmp_path / "site.sqlite3-cache").is_dir()
