"""The newsroom desk (issue 25): pins, review, who is editing, versions compared, bylines, the form."""

import datetime as dt
import json
import re
import time

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import strip_tags
from reversion.models import Version

from articles import presence, publishing, versions
from articles.caching import content_version
from articles.intake import reasons
from articles.models import Article, ImportRun, Tag
from articles.roles import CONTRIBUTOR_GROUP_NAME
from tests.conftest import post_text, run_import
from tests.factories import article_form, make_article, make_category, make_editor, make_stock
from tests.test_editor import change_form

pytestmark = pytest.mark.django_db

CHANGELIST_URL = "/admin/articles/article/"
ADD_URL = "/admin/articles/article/add/"
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


def said(response):
    """The messages a save left for the editor's next page, as text."""
    return [strip_tags(str(message)) for message in response.context["messages"]]


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

    def test_saving_again_after_a_pin_set_meanwhile_keeps_the_pin(self, client, desk):
        # 设为要闻 from the list while the form was open: the save is refused (the article was
        # changed), and saving again sent back the pin as the form was opened, which unpinned it.
        article = make_article(title="要闻候选")
        url, data = change_form(client, article)
        publishing.pin_article(article, kind=TOP, user=make_editor("colleague"))
        data["summary"] = "编辑写的摘要"

        refused = client.post(url, data)
        assert "已被编辑" in refused.content.decode()
        again = BeautifulSoup(refused.content.decode(), "lxml").select_one('input[name="seen_updated_at"]')["value"]
        response = client.post(url, {**data, "seen_updated_at": again}, follow=True)

        stored = Article.objects.get()
        assert stored.summary == "编辑写的摘要" and stored.pin == TOP
        assert not [message for message in said(response) if "置顶" in message]

    @pytest.mark.parametrize(
        "before, meanwhile",
        [(Article.Status.DRAFT, Article.Status.PUBLISHED), (Article.Status.PUBLISHED, Article.Status.DRAFT)],
    )
    def test_saving_again_after_a_publish_or_withdraw_meanwhile_keeps_it(self, client, desk, before, meanwhile):
        # A colleague's 发布 (or 撤回) while the form was open: saving again after the conflict
        # sent back the status and time the form was opened with, which undid it unsaid.
        article = make_article(title="待定稿", status=before)
        url, data = change_form(client, article)
        publishing.set_status(Article.objects.all(), meanwhile, user=make_editor("colleague"))
        changed = Article.objects.get()
        data["summary"] = "编辑写的摘要"

        refused = client.post(url, data)
        assert "已被编辑" in refused.content.decode()
        again = BeautifulSoup(refused.content.decode(), "lxml").select_one('input[name="seen_updated_at"]')["value"]
        client.post(url, {**data, "seen_updated_at": again})

        stored = Article.objects.get()
        assert stored.summary == "编辑写的摘要"
        assert (stored.status, stored.published_at) == (meanwhile, changed.published_at)

    def test_saving_again_keeps_the_status_the_editor_chose_on_the_form(self, client, desk):
        article = make_article(title="待定稿", status=Article.Status.DRAFT)
        url, data = change_form(client, article)
        colleagues = Article.objects.get()
        colleagues.summary = "同事的摘要"
        publishing.save_article(colleagues, user=make_editor("colleague"))
        data["status"] = Article.Status.PUBLISHED

        refused = client.post(url, data)
        again = BeautifulSoup(refused.content.decode(), "lxml").select_one('input[name="seen_updated_at"]')["value"]
        client.post(url, {**data, "seen_updated_at": again})

        assert Article.objects.get().status == Article.Status.PUBLISHED

    def test_the_form_offers_no_pin_lead_or_top_story(self, client, desk):
        page = BeautifulSoup(client.get(change_url(make_article())).content.decode(), "lxml")
        options = [option.get_text() for option in page.select('select[name="pin"] option')]
        assert options == ["不置顶", "头条", "要闻"]

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
        publishing.pin_article(make_article(title="昨天的头条"), kind=LEAD, user=desk)
        replaced = client.post(CHANGELIST_URL, {"action": "pin_as_lead", "_selected_action": [lead.pk]}, follow=True)
        assert "“头条稿”已设为头条；原头条“昨天的头条”已取消置顶。" in replaced.content.decode()
        client.post(CHANGELIST_URL, {"action": "pin_as_top_story", "_selected_action": [top.pk]})
        assert titles(Article.objects.pinned()) == ["头条稿", "要闻稿"]

        with django_assert_num_queries(11):
            page = client.get(CHANGELIST_URL).content.decode()
        cells = [cell.get_text() for cell in BeautifulSoup(page, "lxml").select("td.field-pin_state")]
        assert sorted(cells) == ["-", "头条", "要闻 1"]  # the replaced 头条 is no longer pinned

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

    @pytest.mark.parametrize("button", ["_save", "_continue"])
    def test_a_save_that_only_pins_says_the_pin_alone(self, client, desk, button):
        # Django's "成功修改了 文章…" after the pin's message claimed an edit nobody made.
        article = make_article(title="央行宣布降准")
        url, data = change_form(client, article)
        data.pop("_save")

        response = client.post(url, {**data, "pin": str(LEAD), button: "保存"}, follow=True)

        assert said(response) == ["“央行宣布降准”已设为头条。"]
        assert response.redirect_chain[-1][0] == (url if button == "_continue" else CHANGELIST_URL)
        assert Article.objects.get(pk=article.pk).pin == LEAD

    def test_a_save_that_only_unpins_says_so_alone(self, client, desk):
        article = make_article(title="央行宣布降准")
        publishing.pin_article(article, kind=TOP, user=desk)
        url, data = change_form(client, article)

        response = client.post(url, {**data, "pin": ""}, follow=True)

        assert said(response) == ["“央行宣布降准”已取消置顶。"]
        assert Article.objects.get(pk=article.pk).pin is None

    def test_a_save_that_pins_and_edits_says_each_once(self, client, desk):
        article = make_article(title="央行宣布降准")
        url, data = change_form(client, article)

        response = client.post(url, {**data, "title": "央行宣布全面降准", "pin": str(TOP)}, follow=True)

        assert said(response) == ["“央行宣布全面降准”已设为要闻。", "成功修改了 文章“央行宣布全面降准”。"]


def make_contributor(username="xiaoli", **names):
    user = User.objects.create_user(username, password="x", is_staff=True, **names)
    user.groups.add(Group.objects.get(name=CONTRIBUTOR_GROUP_NAME))
    return user


def buttons(page):
    return [button["value"] for button in BeautifulSoup(page, "lxml").select('.submit-row input[type="submit"]')]


class TestReview:
    """撰稿 writes and submits; 编辑 approves (now or at the time set) or returns with a note."""

    @pytest.fixture
    def contributor(self, client):
        user = make_contributor(first_name="小丽", last_name="李")
        client.force_login(user)
        return user

    def test_a_contributor_writes_a_draft_and_submits_it(self, client, contributor):
        category = make_category()
        page = client.get(ADD_URL).content.decode()
        assert "提交审核" in buttons(page) and "发布" not in buttons(page)

        response = client.post(ADD_URL, article_form(category, _submit="提交审核"), follow=True)

        article = Article.objects.get()
        assert article.status == Article.Status.PENDING and article.authors == "李小丽"
        assert "已提交审核" in response.content.decode()
        comments = [version.revision.comment for version in Version.objects.get_for_object(article)]
        assert comments[0].startswith("提交审核；")
        assert Version.objects.get_for_object(article).first().revision.user == contributor

    def test_a_contributor_s_crafted_posts_cannot_publish(self, client, contributor):
        category = make_category()
        draft = make_article(category=category, info_code="ED1", status=Article.Status.DRAFT)
        later = timezone.localtime() + dt.timedelta(hours=1)
        for extra in ({"_publish": "发布"}, {"_schedule": "定时发布", "published_at": later}, {"status": "published"}):
            client.post(change_url(draft), article_form(category, **extra))
        client.post(CHANGELIST_URL, {"action": "approve", "_selected_action": [draft.pk]})

        assert Article.objects.get(pk=draft.pk).status == Article.Status.DRAFT
        with pytest.raises(PermissionDenied):
            draft.status = Article.Status.PUBLISHED
            publishing.save_article(draft, user=contributor)
        with pytest.raises(PermissionDenied):
            publishing.set_status(Article.objects.all(), Article.Status.PUBLISHED, user=contributor)

    def test_a_contributor_cannot_change_what_is_published(self, client, contributor):
        category = make_category()
        article = make_article(category=category, info_code="ED1", title="已发布的稿件")

        page = BeautifulSoup(client.get(change_url(article)).content.decode(), "lxml")
        response = client.post(change_url(article), article_form(category, title="偷偷改掉"))

        assert page.select_one('input[name="title"]') is None and buttons(str(page)) == []
        assert response.status_code == 403
        assert Article.objects.get().title == "已发布的稿件"
        with pytest.raises(PermissionDenied, match="只有编辑能修改"):
            publishing.save_article(Article.objects.get(), user=contributor)

    def test_a_contributor_refused_reads_why_in_chinese(self, client, contributor):
        # The version page offers 保存 (restore); pressed, it answered Django's "403 Forbidden".
        article = make_article(title="已发布的稿件")
        edited = Article.objects.get(pk=article.pk)
        edited.title = "编辑改过的标题"
        publishing.save_article(edited, user=make_editor("desk"))
        older = Version.objects.get_for_object(article).order_by("pk").first()

        restored = client.post(f"{change_url(article)[:-7]}history/{older.pk}/", {"_save": "保存"})
        changed = client.post(change_url(article), article_form(article.category, title="偷偷改掉"))

        for response in (restored, changed):
            page = BeautifulSoup(response.content.decode(), "lxml")
            assert response.status_code == 403 and page.h1.get_text() == "没有权限"
            assert "Forbidden" not in page.get_text()
        assert "已发布的文章只有编辑能修改" in restored.content.decode()
        assert Article.objects.get().title == "编辑改过的标题"

    def test_a_contributor_reads_a_published_body_as_readers_do(self, client, contributor):
        article = make_article(
            category=make_category(), info_code="ED1", body="<h2>要点</h2><p><strong>降准</strong></p>"
        )

        page = BeautifulSoup(client.get(change_url(article)).content.decode(), "lxml")

        body = page.select_one(".field-body_as_read .desk-body-as-read")
        assert str(body.h2) == "<h2>要点</h2>" and body.strong.get_text() == "降准"
        assert "&lt;h2&gt;" not in str(page) and page.select_one(".field-body") is None

    def test_the_editor_sees_what_waits_and_approves_it_now(self, client, desk):
        category = make_category()
        waiting = make_article(category=category, info_code="ED1", title="待审稿", status=Article.Status.DRAFT)
        publishing.submit_for_review(waiting, user=make_contributor())
        make_article(title="另一篇草稿", status=Article.Status.DRAFT)

        notice = BeautifulSoup(client.get(CHANGELIST_URL).content.decode(), "lxml").select_one(".desk-pending a")
        assert notice.get_text() == "有 1 篇稿件待审"
        listed = client.get(CHANGELIST_URL + notice["href"]).content.decode()
        assert "待审稿" in listed and "另一篇草稿" not in listed
        page = client.get(change_url(waiting)).content.decode()
        assert {"发布", "定时发布", "退回修改"} <= set(buttons(page))

        before = timezone.now()
        response = client.post(
            change_url(waiting), article_form(category, status=Article.Status.PENDING, _publish="发布"), follow=True
        )

        article = Article.objects.published().get()
        assert article.published_at >= before and article.responsible_editor == desk
        assert f"已发布“央行宣布降准”，发布时间 {timezone.localtime(article.published_at):%Y-%m-%d %H:%M}" in (
            response.content.decode()
        )
        assert Version.objects.get_for_object(article).first().revision.comment.startswith("批准发布；")

    def test_a_button_s_message_is_the_one_word_on_the_save(self, client, desk):
        category = make_category()
        draft = make_article(category=category, info_code="ED1", status=Article.Status.DRAFT)

        response = client.post(change_url(draft), article_form(category, _publish="发布"), follow=True)

        when = timezone.localtime(Article.objects.get().published_at)
        assert said(response) == [f"已发布“央行宣布降准”，发布时间 {when:%Y-%m-%d %H:%M}。"]
        assert response.redirect_chain[-1][0] == CHANGELIST_URL

    def test_a_contributor_s_new_article_submitted_is_said_once(self, client):
        client.force_login(make_contributor())

        response = client.post(ADD_URL, article_form(make_category(), _submit="提交审核"), follow=True)

        assert said(response) == ["“央行宣布降准”已提交审核：编辑批准后发布。"]

    def test_a_plain_save_keeps_django_s_word(self, client, desk):
        category = make_category()
        draft = make_article(category=category, info_code="ED1", status=Article.Status.DRAFT)

        response = client.post(change_url(draft), article_form(category, _save="保存"), follow=True)

        (message,) = said(response)
        assert message.startswith("成功修改了 文章“") and "央行宣布降准" in message

    def test_the_editor_approves_for_the_time_set(self, client, desk):
        category = make_category()
        waiting = make_article(category=category, info_code="ED1", status=Article.Status.PENDING)
        later = (timezone.localtime() + dt.timedelta(hours=2)).replace(second=0, microsecond=0)

        response = client.post(
            change_url(waiting),
            article_form(category, status=Article.Status.PENDING, published_at=later, _schedule="定时发布"),
            follow=True,
        )

        assert f"将于 {later:%Y-%m-%d %H:%M} 出现在网站上" in response.content.decode()
        assert Article.objects.scheduled().get().published_at == later
        comment = Version.objects.get_for_object(waiting).first().revision.comment
        assert comment.startswith(f"批准发布（定时 {later:%Y-%m-%d %H:%M}）；")

    def test_a_scheduled_article_can_be_published_now(self, client, desk):
        category = make_category()
        later = (timezone.localtime() + dt.timedelta(hours=2)).replace(microsecond=0)
        scheduled = make_article(category=category, info_code="ED1", published_at=later)
        assert {"发布", "撤回"} <= set(buttons(client.get(change_url(scheduled)).content.decode()))

        url, data = change_form(client, scheduled)
        response = client.post(url, {**data, "_publish": "发布"}, follow=True)

        article = Article.objects.published().get()
        assert article.published_at <= timezone.now()
        assert said(response) == [
            f"已发布“{article.title}”，发布时间 {timezone.localtime(article.published_at):%Y-%m-%d %H:%M}。"
        ]

    def test_a_plain_save_moving_a_published_article_later_says_readers_lose_it(self, client, desk):
        category = make_category()
        article = make_article(category=category, info_code="ED1", title="已发布")
        later = (timezone.localtime() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
        seen = BeautifulSoup(client.get(change_url(article)).content.decode(), "lxml")
        seen = seen.select_one('input[name="seen_updated_at"]')["value"]

        response = client.post(
            change_url(article),
            article_form(
                category, title="已发布", status=Article.Status.PUBLISHED, published_at=later, seen_updated_at=seen
            ),
            follow=True,
        )

        assert f"“已发布”的发布时间在将来：读者在 {later:%Y-%m-%d %H:%M} 之前看不到它" in response.content.decode()
        assert Article.objects.scheduled().get().pk == article.pk

    def test_scheduling_in_the_past_is_refused_beside_the_time(self, client, desk):
        category = make_category()
        draft = make_article(category=category, info_code="ED1", status=Article.Status.DRAFT)

        response = client.post(change_url(draft), article_form(category, _schedule="定时发布"))

        assert "定时发布的时间必须晚于现在" in response.content.decode()
        assert Article.objects.get().status == Article.Status.DRAFT

    def test_returned_with_a_note_the_writer_reads_on_the_form(self, client, desk):
        category = make_category()
        writer = make_contributor()
        waiting = make_article(category=category, info_code="ED1", status=Article.Status.DRAFT)
        publishing.submit_for_review(waiting, user=writer)

        refused = client.post(
            change_url(waiting), article_form(category, status=Article.Status.PENDING, _return="退回修改")
        )
        assert "请在“退回意见”里写明" in refused.content.decode()
        client.post(
            change_url(waiting),
            article_form(category, status=Article.Status.PENDING, _return="退回修改", return_note="第二段数据请核实。"),
        )

        client.force_login(writer)
        page = BeautifulSoup(client.get(change_url(waiting)).content.decode(), "lxml")
        assert page.select_one(".desk-review-note").get_text(strip=True) == "退回意见：第二段数据请核实。"
        assert Article.objects.get().status == Article.Status.DRAFT
        revision = Version.objects.get_for_object(waiting).first().revision
        assert revision.comment.startswith("退回修改：第二段数据请核实；") and revision.user == desk

        publishing.submit_for_review(waiting, user=writer)
        assert Article.objects.get().review_note == ""

    def test_returning_or_submitting_an_untouched_form_says_only_the_step(self, client, desk):
        # The step is written after the save, which had nothing to write: its "没有改动，未保存新版本"
        # beside "已退回" told the editor both that something was and was not done.
        category = make_category()
        writer = make_contributor()
        waiting = make_article(category=category, info_code="ED1", title="待审稿", status=Article.Status.DRAFT)
        publishing.submit_for_review(waiting, user=writer)
        url, data = change_form(client, waiting)

        returned = client.post(url, {**data, "_return": "退回修改", "return_note": "请核实数据。"}, follow=True)
        assert said(returned) == ["已将“待审稿”退回给作者，退回意见：请核实数据。"]

        client.force_login(writer)
        url, data = change_form(client, waiting)
        submitted = client.post(url, {**data, "_submit": "提交审核"}, follow=True)
        assert said(submitted) == ["“待审稿”已提交审核：编辑批准后发布。"]
        assert Article.objects.get().status == Article.Status.PENDING

    def test_a_list_action_says_which_chosen_articles_it_left_as_they_were(self, client, desk):
        # "已发布 0 篇文章", a success in green, when every article chosen was published already.
        published, draft = make_article(title="已发布的"), make_article(title="草稿", status=Article.Status.DRAFT)

        def act(action, *articles):
            response = client.post(
                CHANGELIST_URL, {"action": action, "_selected_action": [a.pk for a in articles]}, follow=True
            )
            return [(message.level_tag, str(message)) for message in response.context["messages"]]

        assert act("publish", published) == [("warning", "所选的 1 篇文章已经是已发布（或定时发布）的，没有改动。")]
        assert act("approve", published, draft) == [("warning", "所选的 2 篇文章不是待审稿件，没有改动。")]
        assert act("unpin", draft) == [("warning", "所选的 1 篇文章没有置顶，没有改动。")]
        assert act("split_stories", draft) == [("warning", "所选文章都不属于同一新闻，没有可拆分的。")]
        assert act("withdraw", published, draft) == [
            ("success", "已将 1 篇文章撤回为草稿，读者已看不到它们；另外 1 篇本来就是草稿，没有改动。")
        ]
        assert Article.objects.filter(status=Article.Status.DRAFT).count() == 2

    def test_approving_from_a_filtered_list_counts_the_articles_chosen_before_it(self, client, desk):
        # The list filtered by 编辑过 否 (fresh imports): approval marks an article edited, so the
        # selection counted after it had lost the approved ones and told of 1 left where 2 were.
        pending = make_article(title="待审", status=Article.Status.PENDING)
        drafts = [make_article(title=f"草稿{n}", status=Article.Status.DRAFT) for n in range(2)]
        response = client.post(
            f"{CHANGELIST_URL}?edited_since_import__exact=0",
            {"action": "approve", "_selected_action": [a.pk for a in (pending, *drafts)]},
            follow=True,
        )
        assert said(response) == [
            "已批准发布 1 篇稿件（发布时间在将来的会按时出现）；另外 2 篇不是待审稿件，没有改动。"
        ]

    def test_withdrawing_a_pinned_article_says_it_is_still_pinned(self, client, desk):
        # The pin outlives the withdrawal: republished, the article is 头条 again at once.
        lead, plain = make_article(title="头条稿"), make_article(title="普通稿")
        publishing.pin_article(lead, kind=LEAD, user=desk)
        url, data = change_form(client, lead)

        withdrawn = said(client.post(url, {**data, "_withdraw": "撤回"}, follow=True))
        assert withdrawn[-1].endswith("读者已看不到它。它仍是头条：再次发布就会回到首页，不需要时请“取消置顶”。")
        publishing.set_status(Article.objects.all(), Article.Status.PUBLISHED, user=desk)
        listed = client.post(
            CHANGELIST_URL, {"action": "withdraw", "_selected_action": [lead.pk, plain.pk]}, follow=True
        )
        assert said(listed)[-1] == "其中 1 篇仍置顶：再次发布就会回到首页，不需要时请“取消置顶”。"

    def test_withdrawing_a_story_s_lead_says_its_published_copies_go_with_it(self, client, desk):
        # A copy's address leads to its lead's page and lists show the lead: withdrawn, the lead
        # took its copies off the site unsaid.
        lead = make_article(title="主稿")
        make_article(title="副本", story=lead)
        url, data = change_form(client, lead)

        withdrawn = said(client.post(url, {**data, "_withdraw": "撤回"}, follow=True))
        assert withdrawn[-1].endswith(
            "另有 1 篇已发布的文章与它是同一新闻：它们的地址转到撤回的这篇，也不在列表里；"
            "要让读者还能看到它们，请先对它们“拆分同一新闻”。"
        )
        publishing.set_status(Article.objects.filter(pk=lead.pk), Article.Status.PUBLISHED, user=desk)
        listed = client.post(CHANGELIST_URL, {"action": "withdraw", "_selected_action": [lead.pk]}, follow=True)
        assert said(listed)[-1].startswith("另有 1 篇已发布的文章与它是同一新闻")

    def test_withdrawing_several_leads_from_the_list_names_them_as_several(self, client, desk):
        # "与它是同一新闻……撤回的这篇" told of one article when two leads were withdrawn.
        leads = [make_article(title=f"主稿{n}") for n in range(2)]
        for lead in leads:
            make_article(title=f"{lead.title}副本", story=lead)

        listed = client.post(
            CHANGELIST_URL, {"action": "withdraw", "_selected_action": [lead.pk for lead in leads]}, follow=True
        )
        assert said(listed)[-1] == (
            "另有 2 篇已发布的文章与撤回的其中 2 篇是同一新闻：它们的地址转到撤回的文章，也不在列表里；"
            "要让读者还能看到它们，请先对它们“拆分同一新闻”。"
        )

    def test_buttons_that_do_not_fit_the_article_are_form_errors(self, client, desk):
        category = make_category()
        published = make_article(category=category, info_code="ED1")

        submitted = client.post(change_url(published), article_form(category, status="published", _submit="提交审核"))
        returned = client.post(
            change_url(published), article_form(category, status="published", _return="退回修改", return_note="改")
        )

        assert "只有草稿可以提交审核" in submitted.content.decode()
        assert "只有待审的稿件可以退回" in returned.content.decode()
        assert Article.objects.get().status == Article.Status.PUBLISHED

    def test_what_waits_for_review_is_for_no_reader_and_previews_as_waiting(self, client, desk):
        article = make_article(title="待审的消息", status=Article.Status.PENDING)

        preview = BeautifulSoup(client.get(f"{article.get_absolute_url()}?preview=1").content.decode(), "lxml")
        client.logout()

        assert preview.select_one(".preview-banner").get_text() == "预览：这篇文章正在等待审核，读者看不到它。"
        assert client.get(article.get_absolute_url()).status_code == 404
        assert "待审的消息" not in client.get("/").content.decode() + client.get("/feed.xml").content.decode()

    def test_returning_needs_the_publish_permission_and_a_waiting_draft(self):
        writer = make_contributor()
        waiting = make_article(status=Article.Status.PENDING)
        with pytest.raises(PermissionDenied):
            publishing.return_for_revision(waiting, note="改", user=writer)
        with pytest.raises(ValidationError, match="只有待审的稿件"):
            publishing.return_for_revision(make_article(), note="改", user=None)
        with pytest.raises(ValidationError, match="只有草稿"):
            publishing.submit_for_review(waiting, user=writer)

    def test_withdrawing_repeats_the_time(self, client, desk):
        category = make_category()
        article = make_article(category=category, info_code="ED1", title="将被撤回")
        response = client.post(
            change_url(article),
            article_form(
                category,
                status=Article.Status.PUBLISHED,
                published_at=timezone.localtime(article.published_at),
                _withdraw="撤回",
            ),
            follow=True,
        )
        assert f"已撤回“央行宣布降准”（原发布时间 {timezone.localtime(article.published_at):%Y-%m-%d %H:%M}）" in (
            response.content.decode()
        )
        assert Article.objects.get().status == Article.Status.DRAFT

    def test_the_status_filter_names_the_desk_s_states(self, client, desk, django_assert_num_queries):
        make_article(title="定时稿", published_at=timezone.now() + dt.timedelta(hours=1))
        make_article(title="已上线")
        client.get(CHANGELIST_URL)  # the content version and the sources' filter, read once per version

        with django_assert_num_queries(11):
            page = client.get(CHANGELIST_URL, {"state": "scheduled"}).content.decode()

        assert "定时稿" in page and "已上线" not in page
        soup = BeautifulSoup(page, "lxml")
        assert {"草稿", "待审", "定时发布", "已发布"} <= {
            a.get_text(strip=True) for a in soup.select("#changelist-filter a")
        }


def seen_in(page):
    return BeautifulSoup(page, "lxml").select_one('input[name="seen_updated_at"]')["value"]


class TestWhoIsEditing:
    """A notice, not a lock: who else has the form open and since when; who saved in between."""

    def test_opening_an_article_another_editor_has_open_says_who_and_since_when(self, client, desk):
        zhang = make_editor("zhangsan")
        zhang.last_name, zhang.first_name = "张", "三"
        zhang.save()
        article = make_article()
        client.force_login(zhang)
        client.get(change_url(article))
        opened = timezone.localtime()

        client.force_login(desk)
        notice = BeautifulSoup(client.get(change_url(article)).content.decode(), "lxml").select_one("#desk-editing")

        assert notice.get_text(strip=True).startswith(f"张三 自 {opened:%H:%M} 起正在编辑这篇文章")
        assert not notice.has_attr("hidden")

    def test_an_editor_who_left_is_no_longer_named(self, client, desk, monkeypatch):
        article = make_article()
        client.force_login(make_editor("zhangsan"))
        client.get(change_url(article))
        later = time.time() + presence.GONE_AFTER_SECONDS + 1
        monkeypatch.setattr(time, "time", lambda: later)

        client.force_login(desk)
        page = BeautifulSoup(client.get(change_url(article)).content.decode(), "lxml")

        assert page.select_one("#desk-editing").has_attr("hidden")

    def test_the_heartbeat_answers_who_else_is_there(self, client, desk):
        article = make_article()
        client.get(change_url(article))
        client.force_login(make_editor("zhangsan"))
        heartbeat = f"/admin/articles/article/{article.pk}/editing/"

        assert client.get(heartbeat).status_code == 405
        others = client.post(heartbeat).json()["others"]

        assert [other["name"] for other in others] == ["desk"]

    def test_the_heartbeat_needs_the_change_permission(self, client):
        article = make_article()
        client.force_login(User.objects.create_user("reader", password="x", is_staff=True))
        assert client.post(f"/admin/articles/article/{article.pk}/editing/").status_code == 403

    def test_the_conflict_names_who_saved_in_between_and_when(self, client, desk):
        zhang = make_editor("zhangsan")
        zhang.last_name, zhang.first_name = "张", "三"
        zhang.save()
        category = make_category()
        article = make_article(category=category, info_code="ED1")
        seen = seen_in(client.get(change_url(article)).content.decode())
        article.title = "张三的更正"
        publishing.save_article(article, user=zhang)
        saved_at = timezone.localtime(Article.objects.get().updated_at)

        response = client.post(change_url(article), article_form(category, seen_updated_at=seen))

        assert f"已被编辑张三修改（{saved_at:%Y-%m-%d %H:%M:%S}）" in response.content.decode()
        assert Article.objects.get().title == "张三的更正"

    def test_a_save_in_between_from_the_editor_s_other_window_names_them_as_themselves(self, client, desk):
        # The same article open in two tabs: "已被编辑王小明修改" told 王小明 someone of their name had.
        category = make_category()
        article = make_article(category=category, info_code="ED1")
        seen = seen_in(client.get(change_url(article)).content.decode())
        client.post(change_url(article), article_form(category, title="另一个窗口里的标题", seen_updated_at=seen))

        response = client.post(change_url(article), article_form(category, seen_updated_at=seen))

        assert "这篇文章在您打开之后已被您自己（在另一个窗口或标签页中）修改（" in response.content.decode()
        assert Article.objects.get().title == "另一个窗口里的标题"


class TestBylines:
    """作者 and 责任编辑: on the page, in JSON-LD (author, editor) and in the feeds."""

    def json_ld(self, page):
        return json.loads(BeautifulSoup(page, "lxml").select_one('script[type="application/ld+json"]').string)

    def test_an_editor_s_article_names_its_writer_and_the_editor_who_published_it(self, client):
        writer = make_contributor(first_name="小丽", last_name="李")
        desk = make_editor("wangwu", first_name="五", last_name="王")
        client.force_login(writer)
        client.post(ADD_URL, article_form(make_category(), _submit="提交审核"))
        article = Article.objects.get()
        publishing.set_status(Article.objects.all(), Article.Status.PUBLISHED, user=desk)
        client.logout()

        page = client.get(article.get_absolute_url()).content.decode()

        byline = BeautifulSoup(page, "lxml").select_one(".byline").get_text()
        assert byline == "作者：李小丽 · 责任编辑：王五"
        data = self.json_ld(page)
        assert data["author"] == [{"@type": "Person", "name": "李小丽"}]
        assert data["editor"] == {"@type": "Person", "name": "王五"}
        feed = BeautifulSoup(client.get("/feed.xml").content, "xml")
        assert feed.find("entry").find("author").find("name").string == "李小丽"

    def test_several_authors_typed_are_each_named(self, client, desk):
        category = make_category()
        client.post(ADD_URL, article_form(category, authors="张三、李四, 王五", _publish="发布"))
        article = Article.objects.get()
        client.logout()

        data = self.json_ld(client.get(article.get_absolute_url()).content.decode())

        assert [author["name"] for author in data["author"]] == ["张三", "李四", "王五"]
        assert data["editor"]["name"] == "desk"

    def test_an_imported_post_names_its_source(self, client):
        article = make_article(source_name="财联社")

        page = client.get(article.get_absolute_url()).content.decode()

        assert BeautifulSoup(page, "lxml").select_one(".byline") is None
        assert self.json_ld(page)["author"] == {"@type": "Organization", "name": "财联社"}
        assert "editor" not in self.json_ld(page)
        feed = BeautifulSoup(client.get("/feed.xml").content, "xml")
        assert feed.find("entry").find("author").find("name").string == "财联社"


class TestCompareVersions:
    """历史 shows two versions side by side before a restore (django-reversion-compare's pages)."""

    def test_two_versions_side_by_side_with_what_changed_marked(self, client, desk, django_assert_num_queries):
        stock = make_stock("601398", name="工商银行")
        article = make_article(title="央行降准", summary="释放资金", body="<p>央行宣布降准。</p>", tags=["宏观"])
        edited = Article.objects.get(pk=article.pk)
        edited.title, edited.body = "央行宣布降准0.5个百分点", "<p>央行宣布降准。</p><p>银行股上涨。</p>"
        edited.status = Article.Status.DRAFT
        # What a restore brings back besides the text: shown too (a restore moved it unseen).
        edited.category, edited.authors = make_category("kuaixun", title="快讯"), "王小明"
        publishing.save_article(edited, user=desk, tags=["宏观", "银行"], stocks=[stock])
        older, newer = Version.objects.get_for_object(article).order_by("pk")

        history = BeautifulSoup(client.get(f"{change_url(article)[:-7]}history/").content.decode(), "lxml")
        assert history.select_one('input[type="submit"]')["value"] == "对照"
        assert len(history.select('input[name="version_id2"]')) == 2
        compare = f"{change_url(article)[:-7]}history/compare/?version_id1={older.pk}&version_id2={newer.pk}"
        client.get(compare)
        with django_assert_num_queries(17):  # one of them checks that both versions can be read
            page = BeautifulSoup(client.get(compare).content.decode(), "lxml")

        rows = {row.th.contents[0].strip(): row for row in page.select(".desk-compare tbody tr")}
        assert list(rows) == [
            "标题", "摘要", "正文", "标签", "相关股票", "分类", "作者", "来源", "原文链接", "网址别名", "封面图", "状态", "发布时间",
        ]  # fmt: skip
        assert (
            rows["分类"].select_one("ins").get_text() == "快讯"
            and rows["作者"].select_one("ins").get_text() == "王小明"
        )
        assert "desk-same" in rows["来源"]["class"] and "desk-same" in rows["网址别名"]["class"]
        title = rows["标题"].select("td")
        assert title[0].get_text() == "央行降准" and [ins.get_text() for ins in title[1].select("ins")] == [
            "宣布",
            "0.5个百分点",
        ]
        assert rows["正文"].select_one("td:nth-of-type(2) ins").get_text() == "\n银行股上涨。".replace("\n", "")
        assert (
            rows["标签"].select("td")[1].get_text() == "宏观、银行"
            and rows["标签"].select_one("ins").get_text() == "银行"
        )
        assert rows["相关股票"].select_one("ins").get_text() == "工商银行 601398（上海）"
        assert [td.get_text() for td in rows["状态"].select("td")] == ["已发布", "草稿"]
        assert "desk-same" in rows["摘要"]["class"] and "desk-same" in rows["发布时间"]["class"]
        assert page.select_one(".desk-compare thead a")["href"].endswith(f"/history/{older.pk}/")
        assert (
            page.h1.get_text() == f"对照版本：{Article.objects.get(pk=article.pk).title}"
            and "Compare" not in page.title.get_text()
        )

    def test_a_body_changed_in_its_markup_alone_is_a_change_and_reads_a_line_a_block(self, client, desk):
        # Compared by its text alone, a heading made a paragraph, a word made bold or a link's
        # address changed read 未变; and the text ran on, the heading into its paragraph.
        article = make_article(
            body='<h2>要点</h2><p>央行<a href="https://www.pbc.gov.cn/">宣布</a>降准。</p>'
            "<table><tbody><tr><td><p>营收</p></td><td><p>利润</p></td></tr></tbody></table>"
        )
        edited = Article.objects.get(pk=article.pk)
        edited.body = (
            '<p>要点</p><p>央行<a href="https://example.com/">宣布</a><strong>降准</strong>。</p>'
            '<table><tbody><tr><td colspan="2"><p>营收</p><p>利润</p></td></tr></tbody></table>'
        )
        publishing.save_article(edited, user=desk)
        older, newer = Version.objects.get_for_object(article).order_by("pk")

        compare = f"{change_url(article)[:-7]}history/compare/?version_id1={older.pk}&version_id2={newer.pk}"
        page = BeautifulSoup(client.get(compare).content.decode(), "lxml")

        body = next(row for row in page.select(".desk-compare tbody tr") if row.th.contents[0].strip() == "正文")
        assert "desk-changed" in body["class"] and "未变" not in body.th.get_text()
        assert body.th.select_one(".help").get_text() == versions.MARKUP_ONLY
        assert [str(cell.decode_contents()) for cell in body.select("td")] == [
            "要点<br/>央行宣布降准。<br/>营收<br/>利润"
        ] * 2

    def test_a_version_to_restore_shows_its_body_as_read_and_its_tags_as_typed(self, client, desk):
        # Its body was its HTML source, and its tags joined by commas: "宏观，A股" read as two tags.
        article = make_article(body="<h2>要点</h2><p><strong>降准</strong>0.25个百分点</p>", tags=["宏观，A股", "美股"])
        edited = Article.objects.get(pk=article.pk)
        edited.body = "<p>改写后的正文</p>"
        publishing.save_article(edited, user=desk, tags=["美股"])
        older = Version.objects.get_for_object(article).order_by("pk").first()

        page = BeautifulSoup(client.get(f"{change_url(article)[:-7]}history/{older.pk}/").content.decode(), "lxml")

        body = page.select_one(".field-body_as_read .desk-body-as-read")
        assert str(body.h2) == "<h2>要点</h2>" and body.strong.get_text() == "降准"
        assert "&lt;h2&gt;" not in str(page)
        assert page.select_one(".field-tags_as_written .readonly").get_text() == '"宏观，A股"，美股'
        assert client.post(f"{change_url(article)[:-7]}history/{older.pk}/", {"_save": "保存"}).status_code == 302
        restored = Article.objects.get()
        assert restored.body == article.body and sorted(restored.tags.names()) == ["宏观，A股", "美股"]

    def test_an_imported_table_reads_a_line_a_cell_as_the_editor_s_does(self, client, desk):
        # East Money's tables hold bare text in their cells (the editor's hold a <p> each): a row
        # ran on as one word, 贵州茅台1800, and a number moved between cells read as 未变.
        article = make_article(body="<table><tr><td>贵州茅台</td><td>1800</td></tr></table>")
        edited = Article.objects.get(pk=article.pk)
        edited.body = "<table><tr><td>贵州茅台1</td><td>800</td></tr></table>"
        publishing.save_article(edited, user=desk)
        older, newer = Version.objects.get_for_object(article).order_by("pk")

        body = next(row for row in versions.side_by_side(older, newer) if row.label == "正文")
        assert body.changed and body.note == ""
        assert strip_tags(re.sub(r"<br\s*/?>", "\n", str(body.before))).split() == ["贵州茅台", "1800"]

    def test_a_tag_deleted_since_is_shown_by_the_name_it_had(self, client, desk):
        article = make_article(tags=["旧标签"])
        edited = Article.objects.get(pk=article.pk)
        publishing.save_article(edited, user=desk, tags=[])
        publishing.delete_topics(Tag.objects.filter(name="旧标签"))
        older, newer = Version.objects.get_for_object(article).order_by("pk")

        rows = versions.side_by_side(older, newer)

        tags = next(row for row in rows if row.label == "标签")
        assert (str(tags.before), str(tags.after), tags.changed) == ("<del>旧标签</del>", "", True)

    def test_a_tag_holding_a_separator_is_compared_as_one_tag(self, desk):
        article = make_article(tags=["宏观，A股"])
        publishing.save_article(Article.objects.get(pk=article.pk), user=desk, tags=["宏观，A股", "美股"])
        older, newer = Version.objects.get_for_object(article).order_by("pk")

        tags = next(row for row in versions.side_by_side(older, newer) if row.label == "标签")

        quoted = "&quot;宏观，A股&quot;"
        assert (str(tags.before), str(tags.after)) == (quoted, f"{quoted}、<ins>美股</ins>")


class TestNewsroomForm:
    """The form and the list shaped for news: the story first, technical fields folded away."""

    def test_the_form_starts_with_the_story_and_folds_the_technical_fields(self, client, desk):
        article = make_article()
        page = BeautifulSoup(client.get(change_url(article)).content.decode(), "lxml")

        rows = [row for row in page.select("#article_form fieldset .form-row") if "hidden" not in row["class"]]
        names = [name.removeprefix("field-") for row in rows for name in row["class"] if name.startswith("field-")]
        assert names[:6] == ["title", "summary", "body", "category", "tags", "stocks"]
        folded = page.select_one("#article_form .field-info_code").find_parent("details")
        assert folded is not None and not folded.has_attr("open")
        technical = folded.find_parent("fieldset")
        assert {"field-slug", "field-story"} <= {c for row in technical.select(".form-row") for c in row["class"]}
        assert page.select_one('link[href$="admin/desk.css"]') and page.select_one('script[src$="admin/desk.js"]')

    def test_the_admin_search_finds_a_tag_s_articles(self, client, desk):
        make_article(title="降准消息", tags=["宏观"])
        make_article(title="无关消息", tags=["港股"])

        page = client.get(CHANGELIST_URL, {"q": "宏观"}).content.decode()

        assert "降准消息" in page and "无关消息" not in page

    def test_import_problems_are_explained_in_chinese(self, client, desk, write_post):
        edited = write_post("2022-01-07-EDIT1.md", post_text(title='"编辑改过"'))
        run_import(edited, "--no-record")
        Article.objects.filter(info_code="EDIT1").update(edited_since_import=True)
        edited.write_text(post_text(title='"新版本"'), encoding="utf-8")
        write_post("2022-01-07-BAD1.md", "没有头信息")
        write_post("2022-01-07-NOTITLE.md", post_text(title='""'))
        run_import(edited.parent)
        run = ImportRun.objects.get()

        page = BeautifulSoup(client.get(f"/admin/articles/importrun/{run.pk}/change/").content.decode(), "lxml")

        shown = {cell.get_text(strip=True) for cell in page.select("td.field-reason_in_chinese")}
        assert shown == {
            "没有文件头：文件的第一行不是“---”",
            "导入后已有编辑在后台修改过这篇文章，未覆盖（确需覆盖，导入时加 --force）",
            "标题为空",
        }

    @pytest.mark.parametrize(
        ("reason", "chinese"),
        [
            (
                "empty title; no usable date in the front matter or the file name",
                "标题为空；文件头和文件名中都没有可用的日期",
            ),
            ("file is larger than 5 MB", "文件超过 5 MB"),
            ("body: its HTML nests more than 200 elements deep", "正文的 HTML 嵌套超过 200 层"),
            (
                "could not be written (OperationalError: disk full)",
                "未能写入（OperationalError: disk full）：请把这条记录转给技术人员",
            ),
            ("title: 标题最多 300 个字", "标题：标题最多 300 个字"),
            (
                "stock board:BK0473 name '证券': invisible format characters dropped",
                "股票 BK0473（板块）名称“证券”中看不见的格式字符（零宽空格、文字方向控制符等）已去掉",
            ),
            # A run recorded before warnings named the stock's code still reads in Chinese.
            (
                "stock name '中国太保' is longer than 100 characters; cut",
                "以“中国太保”开头的股票名称超过 100 个字，超出的部分未导入：请在后台核对",
            ),
            ("something new", "something new"),
        ],
    )
    def test_each_reason_reads_in_chinese(self, reason, chinese):
        assert reasons.in_chinese(reason) == chinese


class TestDeskPagesQueries:
    """The desk's admin pages read a fixed number of rows, however many tags, stocks or versions."""

    @pytest.mark.parametrize("tag_count", [1, 6])
    def test_the_change_form(self, client, desk, django_assert_num_queries, tag_count):
        stocks = [make_stock(f"60000{number}") for number in range(tag_count)]
        article = make_article(tags=[f"标签{number}" for number in range(tag_count)], stocks=stocks)
        client.get(change_url(article))

        with django_assert_num_queries(12):
            assert client.get(change_url(article)).status_code == 200

    @pytest.mark.parametrize("saves", [1, 5])
    def test_the_history(self, client, desk, django_assert_num_queries, saves):
        article = make_article()
        for number in range(saves):
            edited = Article.objects.get(pk=article.pk)
            edited.title = f"第{number}次修改"
            publishing.save_article(edited, user=desk)

        with django_assert_num_queries(8):
            page = client.get(f"/admin/articles/article/{article.pk}/history/").content.decode()
        assert len(BeautifulSoup(page, "lxml").select("#change-history tbody tr")) == saves + 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
class TestPlans:
    """What the desk reads stays small at a million articles: SQLite's plans, read."""

    def plan(self, sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return " ".join(row[-1] for row in cursor.fetchall())

    def test_the_pins_are_read_from_the_pinned_rows(self):
        plan = self.plan(*Article.objects.pinned().query.sql_with_params())
        assert "USING INDEX article_pinned" in plan, plan

    @pytest.mark.parametrize("state", ["draft", "pending", "scheduled", "published"])
    def test_the_status_filter_never_sorts_every_article(self, client, desk, state):
        make_article(status=Article.Status.PENDING)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CHANGELIST_URL, {"state": state}).status_code == 200
        [listing] = [
            query["sql"] for query in queries.captured_queries if '"articles_article"."info_code"' in query["sql"]
        ]
        assert "TEMP B-TREE" not in self.plan(listing)
