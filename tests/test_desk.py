"""The newsroom desk (issue 25): pins, review, who is editing, versions compared, bylines, the form."""

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from reversion.models import Version

from articles import publishing
from articles.caching import content_version
from articles.models import Article
from tests.factories import article_form, make_article, make_category, make_editor

pytestmark = pytest.mark.django_db

CHANGELIST_URL = "/admin/articles/article/"
LEAD, TOP = Article.Pin.LEAD, Article.Pin.TOP


@pytest.fixture(autouse=True)
def _fresh_cache():
    yield
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a block's on-commit callbacks, as a real transaction's commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def desk(client):
    user = make_editor("desk")
    client.force_login(user)
    return user


def change_url(article):
    return f"/admin/articles/article/{article.pk}/change/"


def titles(articles):
    return [article.title for article in articles]


class TestPins:
    """头条 and 要闻: what leads the home page, in the desk's order, each until a time."""

    def test_pinned_lists_the_lead_then_the_top_stories_in_the_desk_s_order(self, desk):
        first, second, lead = (make_article(title=title) for title in ("要闻甲", "要闻乙", "头条"))
        make_article(title="未置顶")
        publishing.pin_article(first, kind=TOP, order=2, user=desk)
        publishing.pin_article(second, kind=TOP, order=1, user=desk)
        publishing.pin_article(lead, kind=LEAD, user=desk)

        assert titles(Article.objects.pinned()) == ["头条", "要闻乙", "要闻甲"]

    def test_only_what_readers_may_see_and_pins_not_ended(self, desk):
        for title, fields in [
            ("草稿", {"status": Article.Status.DRAFT}),
            ("定时", {"published_at": timezone.now() + dt.timedelta(hours=1)}),
            ("在列", {}),
        ]:
            publishing.pin_article(make_article(title=title, **fields), kind=TOP, user=desk)
        ending = make_article(title="将到期")
        publishing.pin_article(ending, kind=TOP, until=timezone.now() + dt.timedelta(minutes=5), user=desk)

        assert titles(Article.objects.pinned()) == ["在列", "将到期"]
        later = timezone.now() + dt.timedelta(minutes=6)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(timezone, "now", lambda: later)
            assert titles(Article.objects.pinned()) == ["在列"]

    def test_a_new_lead_replaces_the_one_before_in_one_revision(self, desk):
        old, new = make_article(title="旧头条"), make_article(title="新头条")
        publishing.pin_article(old, kind=LEAD, user=desk)

        changed = publishing.pin_article(new, kind=LEAD, user=desk)

        assert titles(changed) == ["新头条", "旧头条"]
        assert titles(Article.objects.pinned()) == ["新头条"]
        revision = Version.objects.get_for_object(new).first().revision
        assert revision.user == desk and revision.comment == "设为头条"
        assert {version.object_id for version in revision.version_set.all()} >= {str(old.pk), str(new.pk)}
        assert Version.objects.get_for_object(old).first().field_dict["pin"] is None

    def test_a_sixth_top_story_is_refused_naming_the_five(self, desk):
        for number in range(5):
            publishing.pin_article(make_article(title=f"要闻{number}"), kind=TOP, user=desk)
        sixth = make_article(title="第六篇")

        with pytest.raises(ValidationError, match="要闻最多 5 篇.*要闻0"):
            publishing.pin_article(sixth, kind=TOP, user=desk)
        assert Article.objects.get(pk=sixth.pk).pin is None

    def test_an_ended_pin_leaves_room(self, desk):
        for number in range(5):
            until = timezone.now() + dt.timedelta(minutes=1) if number == 0 else None
            publishing.pin_article(make_article(title=f"要闻{number}"), kind=TOP, until=until, user=desk)
        later = timezone.now() + dt.timedelta(minutes=2)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(timezone, "now", lambda: later)
            publishing.pin_article(make_article(title="补上"), kind=TOP, user=desk)
            assert "补上" in titles(Article.objects.pinned())

    def test_an_end_in_the_past_is_refused(self, desk):
        article = make_article()
        with pytest.raises(ValidationError, match="已经过去"):
            publishing.pin_article(article, kind=TOP, until=timezone.now() - dt.timedelta(minutes=1), user=desk)

    def test_pinning_is_a_publishing_decision(self):
        writer = make_editor("writer", publisher=False)
        article = make_article()
        with pytest.raises(PermissionDenied):
            publishing.pin_article(article, kind=LEAD, user=writer)
        publishing.pin_article(article, kind=LEAD, user=None)
        with pytest.raises(PermissionDenied):
            publishing.unpin_article(article, user=writer)
        assert Article.objects.get(pk=article.pk).pin == LEAD

    def test_saving_or_restoring_the_article_keeps_its_pin(self, desk):
        article = make_article(title="原题")
        publishing.pin_article(article, kind=LEAD, user=desk)
        stale = Article.objects.get(pk=article.pk)
        stale.pin, stale.title = None, "改题"
        publishing.save_article(stale, user=desk)
        publishing.unpin_article(article, user=desk)
        publishing.pin_article(article, kind=TOP, user=desk)

        publishing.restore_version(Version.objects.get_for_object(article).last(), user=desk)

        stored = Article.objects.get(pk=article.pk)
        assert (stored.title, stored.pin) == ("原题", TOP)

    def test_unpinning_records_a_revision_and_returns_to_the_latest_list(self, desk):
        article = make_article(title="要闻")
        publishing.pin_article(article, kind=TOP, user=desk)

        assert publishing.unpin_article(article, user=desk) is True
        assert publishing.unpin_article(article, user=desk) is False
        assert list(Article.objects.pinned()) == []
        assert Version.objects.get_for_object(article).first().revision.comment == "取消要闻"


class TestPinsThroughTheCache:
    def test_a_pin_changes_the_home_page_at_once(self, client, committed, desk):
        article = make_article(title="要闻")
        client.logout()
        client.get("/")
        assert client.get("/").wsgi_request.page_cache_result == "hit"

        with committed():
            publishing.pin_article(article, kind=TOP, user=desk)

        assert client.get("/").wsgi_request.page_cache_result != "hit"

    def test_a_pin_s_end_is_a_moment_of_the_home_page(self, client, committed, desk, monkeypatch):
        article = make_article(title="要闻", published_at=timezone.now() - dt.timedelta(days=200))
        with committed():
            publishing.pin_article(article, kind=TOP, until=timezone.now() + dt.timedelta(seconds=90), user=desk)
        client.logout()

        home = client.get("/")["Cache-Control"]
        assert 80 <= int(home.split("s-maxage=")[1].split(",")[0]) <= 90
        # (Not the article's page: its side column is the hour's, changed by each hour's moment.)
        assert "s-maxage=3600" in client.get(article.category.get_absolute_url())["Cache-Control"]
        before = str(content_version())
        later = timezone.now() + dt.timedelta(seconds=91)
        monkeypatch.setattr(timezone, "now", lambda: later)
        assert str(content_version()) != before
        assert list(Article.objects.pinned()) == []


class TestPinsInTheAdmin:
    def test_the_form_pins_until_a_time_and_says_so(self, client, desk):
        category = make_category()
        article = make_article(category=category, info_code="ED1", title="央行宣布降准")
        until = timezone.localtime() + dt.timedelta(hours=3)

        response = client.post(
            change_url(article),
            article_form(
                category,
                status=Article.Status.PUBLISHED,
                pin=str(LEAD),
                pinned_until_0=f"{until:%Y-%m-%d}",
                pinned_until_1=f"{until:%H:%M:00}",
            ),
            follow=True,
        )

        assert f"已设为头条，至 {until:%Y-%m-%d %H:%M} 自动取消" in response.content.decode()
        assert titles(Article.objects.pinned()) == ["央行宣布降准"]

    def test_the_form_refuses_a_sixth_top_story_beside_the_field(self, client, desk):
        category = make_category()
        for number in range(5):
            publishing.pin_article(make_article(title=f"要闻{number}"), kind=TOP, user=desk)
        article = make_article(category=category, info_code="ED1")

        response = client.post(change_url(article), article_form(category, pin=str(TOP)))

        assert response.status_code == 200 and "要闻最多 5 篇" in response.content.decode()
        assert Article.objects.get(pk=article.pk).pin is None

    def test_a_crafted_post_of_one_who_may_not_publish_pins_nothing(self, client):
        client.force_login(make_editor("writer", publisher=False))
        category = make_category()
        article = make_article(category=category, info_code="ED1", status=Article.Status.DRAFT)

        page = client.get(change_url(article)).content.decode()
        client.post(change_url(article), article_form(category, pin=str(LEAD)))
        client.post("/admin/articles/article/add/", article_form(category, info_code="ED2", pin=str(LEAD)))

        assert BeautifulSoup(page, "lxml").select_one('select[name="pin"]') is None
        assert Article.objects.filter(pin__isnull=False).count() == 0
        assert Article.objects.filter(info_code="ED2").exists()

    def test_actions_pin_and_unpin_and_the_list_shows_it(self, client, desk, django_assert_num_queries):
        lead, top = make_article(title="头条稿"), make_article(title="要闻稿")
        client.post(CHANGELIST_URL, {"action": "pin_as_lead", "_selected_action": [lead.pk]})
        client.post(CHANGELIST_URL, {"action": "pin_as_top_story", "_selected_action": [top.pk]})
        assert titles(Article.objects.pinned()) == ["头条稿", "要闻稿"]

        with django_assert_num_queries(10):
            page = client.get(CHANGELIST_URL).content.decode()
        cells = [cell.get_text() for cell in BeautifulSoup(page, "lxml").select("td.field-pin_state")]
        assert sorted(cells) == ["头条", "要闻 1"]

        response = client.post(CHANGELIST_URL, {"action": "unpin", "_selected_action": [lead.pk, top.pk]}, follow=True)
        assert "已取消 2 篇文章的置顶" in response.content.decode()
        assert list(Article.objects.pinned()) == []

    def test_the_lead_action_takes_one_article(self, client, desk):
        articles = [make_article(), make_article()]
        response = client.post(
            CHANGELIST_URL, {"action": "pin_as_lead", "_selected_action": [a.pk for a in articles]}, follow=True
        )
        assert "请只选一篇文章" in response.content.decode()
        assert list(Article.objects.pinned()) == []
