import datetime as dt
import os

import pytest
from django.core.cache import cache, caches
from django.utils import timezone

from articles import publishing
from articles.models import Article, Tag
from tests.conftest import post_text, run_import
from tests.factories import make_article, make_category, make_editor

pytestmark = pytest.mark.django_db

# Each parallel test worker gets a Redis database of its own: clearing a Django cache flushes the
# whole database, whatever the key prefix. gw0 uses 15, gw1 14, and so on.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
REDIS_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _WORKER % 8}")


@pytest.fixture(autouse=True)
def redis_cache(settings):
    """The production cache backend, Redis, in a database of this worker's own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
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
        monkeypatch.setattr("articles.pagination.ANCHOR_PAGES", 2)  # groups of 40 articles
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
        from articles.pagination import ArticlePaginator

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

        from articles.views import RobotsView

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

    def test_if_modified_since_on_an_article_is_answered_before_rendering(self, client, monkeypatch):
        article = make_article()
        client.force_login(make_editor())  # past the page cache: the view itself answers
        first = client.get(article.get_absolute_url())
        monkeypatch.setattr(
            "articles.views.ArticleDetailView.get_context_data", lambda *a, **k: pytest.fail("rendered")
        )

        again = client.get(article.get_absolute_url(), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

        assert again.status_code == 304 and again["Last-Modified"] == first["Last-Modified"]
