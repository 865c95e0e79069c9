import datetime as dt
import gettext
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.contrib import messages
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image
from reversion.models import Version

from articles import publishing
from articles.intake import reasons
from articles.models import Article, Category, ImportProblem, StockReference, Tag
from articles.roles import EDITOR_GROUP_NAME
from tests.conftest import post_text, run_import
from tests.factories import article_form, make_article, make_category, make_editor, make_stock

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/articles/article/add/"
CHANGELIST_URL = "/admin/articles/article/"


@pytest.fixture
def editor(client):
    user = User.objects.create_user("xiaowang", password="a-long-passphrase-7", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITOR_GROUP_NAME))
    client.force_login(user)
    return user


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def png_bytes(size=(40, 30)):
    output = io.BytesIO()
    Image.new("RGB", size, "red").save(output, format="PNG")
    return output.getvalue()


def seen_in(page):
    """The version of the article an admin form was opened on, as the browser sends it back."""
    return BeautifulSoup(page, "lxml").select_one('input[name="seen_updated_at"]')["value"]


class TestConcurrentEdits:
    """Two editors (or an editor and the import) on one article: neither save is lost unknowingly."""

    def test_a_save_made_since_the_form_opened_is_not_overwritten_unknowingly(self, client, editor):
        category = make_category()
        article = make_article(info_code="ED1", category=category, title="原标题")
        change_url = f"/admin/articles/article/{article.pk}/change/"
        seen = seen_in(client.get(change_url).content.decode())

        article.title = "另一位编辑的更正"
        publishing.save_article(article)
        first = client.post(change_url, article_form(category, title="我的修改", seen_updated_at=seen))

        assert first.status_code == 200 and "已被导入或系统修改" in first.content.decode()
        assert Article.objects.get().title == "另一位编辑的更正"
        # Told once: the form now carries the stored version, and saving again overwrites it knowingly.
        again = client.post(
            change_url, article_form(category, title="我的修改", seen_updated_at=seen_in(first.content.decode()))
        )
        assert again.status_code == 302 and Article.objects.get().title == "我的修改"

    def test_an_import_since_the_form_opened_counts_too(self, client, editor, tmp_path):
        post = tmp_path / "2022-01-07-NW1.md"
        post.write_text(post_text(title='"导入的版本"'), encoding="utf-8")
        run_import(post)
        article = Article.objects.get()
        change_url = f"/admin/articles/article/{article.pk}/change/"
        seen = seen_in(client.get(change_url).content.decode())
        post.write_text(post_text(title='"稿件更新"'), encoding="utf-8")
        run_import(post)

        response = client.post(
            change_url, article_form(article.category, info_code="NW1", title="编辑稿", seen_updated_at=seen)
        )
        assert response.status_code == 200 and Article.objects.get().title == "稿件更新"

    def test_saving_the_version_one_opened_just_saves(self, client, editor):
        category = make_category()
        article = make_article(info_code="ED1", category=category)
        change_url = f"/admin/articles/article/{article.pk}/change/"
        for title in ("第一次修改", "第二次修改"):
            seen = seen_in(client.get(change_url).content.decode())
            response = client.post(change_url, article_form(category, title=title, seen_updated_at=seen))
            assert response.status_code == 302 and Article.objects.get().title == title

    def test_a_version_mark_that_is_not_a_time_is_refused_clearly(self, client, editor):
        category = make_category()
        article = make_article(info_code="ED1", category=category, title="原标题")
        change_url = f"/admin/articles/article/{article.pk}/change/"

        response = client.post(change_url, article_form(category, title="改", seen_updated_at="昨天"))
        assert "无法确认您打开的是哪个版本" in response.content.decode() and Article.objects.get().title == "原标题"


class TestEditorWorkflow:
    def test_create_with_chinese_tag_separators(self, client, editor):
        response = client.post(ADD_URL, article_form(make_category("cailianshe")))

        assert response.status_code == 302, response.content.decode()[:2000]
        article = Article.objects.get(info_code="ED1")
        assert set(article.tags.names()) == {"宏观", "A股", "港股"}
        assert article.status == Article.Status.DRAFT
        assert article.edited_since_import
        assert article.slug == "yang-hang-xuan-bu-jiang-zhun"

    def test_new_article_gets_an_info_code_by_default(self, client, editor):
        form = client.get(ADD_URL).content.decode()
        assert 'name="info_code" value="ED' in form

    def test_malicious_body_is_stored_sanitized(self, client, editor):
        body = '<p onclick="steal()">正文<script>alert(1)</script><img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">链接</a></p>'
        client.post(ADD_URL, article_form(make_category(), body=body, title="<b>标题</b>"))

        article = Article.objects.get(info_code="ED1")
        for needle in ("script", "onclick", "onerror", "javascript:"):
            assert needle not in article.body
        assert article.title == "<b>标题</b>"  # a title is text: shown as typed

    def _save_body(self, client, body):
        """Save the stored article's change form with ``body``; the response, redirects followed."""
        article = Article.objects.get()
        change_url = f"/admin/articles/article/{article.pk}/change/"
        seen = seen_in(client.get(change_url).content.decode())
        data = article_form(article.category, info_code=article.info_code, body=body, seen_updated_at=seen)
        return client.post(change_url, data, follow=True)

    @staticmethod
    def _warnings(response):
        return [str(message) for message in response.context["messages"] if message.level == messages.WARNING]

    def test_html_left_out_of_a_saved_body_is_named_in_a_warning(self, client, editor):
        client.post(ADD_URL, article_form(make_category()))
        body = (
            '<p onclick="track()">央行宣布降准0.25个百分点</p><script>track()</script>'
            '<iframe src="https://video.example/1"></iframe><p>释放长期资金约5300亿元</p>'
        )

        response = self._save_body(client, body)

        assert Article.objects.get().body == "<p>央行宣布降准0.25个百分点</p><p>释放长期资金约5300亿元</p>"
        assert self._warnings(response) == [
            "正文中有本站不显示的 HTML，保存时已去掉：1 个 <script>（脚本）、1 个 <iframe>（内嵌网页）、"
            "1 处 onclick 属性（事件脚本）。请核对正文，需要的内容请用编辑器的工具栏补上。"
        ]

    def test_a_new_article_s_body_gets_the_warning_too(self, client, editor):
        body = '<p>正文</p><form action="https://x.example/"><input name="q"></form>'
        response = client.post(ADD_URL, article_form(make_category(), body=body), follow=True)

        assert Article.objects.get().body == "<p>正文</p>"
        assert self._warnings(response) == [
            "正文中有本站不显示的 HTML，保存时已去掉：1 个 <form>（表单）、1 个 <input>（输入框）。"
            "请核对正文，需要的内容请用编辑器的工具栏补上。"
        ]

    @pytest.mark.parametrize(
        "body",
        [
            '<h2>要点</h2><p><strong>降准</strong><a href="https://www.pbc.gov.cn/">公告</a></p><ol start="2"><li><p>一</p></li></ol>',
            # A table as the body editor writes it: its column widths are not the article's.
            '<table style="min-width: 50px"><colgroup><col style="min-width: 25px"><col style="min-width: 25px">'
            '</colgroup><tbody><tr><th colspan="1" rowspan="1"><p>指标</p></th><td colspan="1" rowspan="1">'
            "<p>5300亿元</p></td></tr></tbody></table>",
            # East Money's styling markup: the site styles text its own way.
            '<div class="txtinfos"><p style="text-indent:2em"><span class="em_media">（来源：财联社）</span></p></div>',
        ],
    )
    def test_a_body_that_loses_only_styling_gets_no_warning(self, client, editor, body):
        client.post(ADD_URL, article_form(make_category()))

        response = self._save_body(client, body)

        stored = Article.objects.get().body
        for text in ("公告", "5300亿元", "来源：财联社"):
            assert (text in body) == (text in stored)
        assert stored != "<p>正文</p>" and self._warnings(response) == []

    def test_the_warning_names_what_the_import_s_record_names_in_the_same_words(self, client, editor, write_post):
        # Fifteen kinds: both name the first twelve and count the rest.
        body = "".join(f"<{name}>{name}</{name}>" for name in ["button", "select", "textarea", "canvas", "video"])
        body += "<p><object></object><embed><audio></audio><svg></svg><math></math><dialog>框</dialog></p>"
        body += '<p onclick="x()" ondblclick="x()" title="提示">文</p><ol reversed><li value="3">项</li></ol>'
        run_import(write_post("2022-01-07-NW1.md", post_text(body=body)))
        recorded = reasons.in_chinese(ImportProblem.objects.get().reason)

        response = self._save_body(client, body)

        (warning,) = self._warnings(response)
        named = re.compile(r"正文中有本站不显示的 HTML，[^：]+：(.*)。请")
        assert named.match(warning)[1] == named.match(recorded)[1]
        assert named.match(warning)[1].endswith("、另外 3 种")

    def test_control_characters_are_dropped_from_a_title_and_a_form_error_in_a_source(self, client, editor):
        category = make_category()
        refused = client.post(ADD_URL, article_form(category, title="降\x0b准", source_name="财联\x08社"))
        assert refused.status_code == 200 and "不能包含控制字符" in refused.content.decode()

        client.post(ADD_URL, article_form(category, title="降\x0b准"))
        assert Article.objects.get().title == "降准"

    @pytest.mark.parametrize("depth, opening, closing", [(101, "<ul><li>", "</li></ul>"), (100_000, "<div>", "</div>")])
    def test_a_body_nested_too_deep_is_a_form_error(self, client, editor, depth, opening, closing):
        # <div>s are not on the allow-list: refused before it runs (its cost grows with the square
        # of the depth), not accepted once it has flattened them.
        response = client.post(ADD_URL, article_form(make_category(), body=opening * depth + "深" + closing * depth))

        assert response.status_code == 200 and "嵌套超过 100 层" in response.content.decode()
        assert not Article.objects.exists()

    def test_schedule_publish_withdraw_and_restore(self, client, editor):
        category = make_category()
        future = timezone.localtime() + dt.timedelta(hours=2)
        client.post(ADD_URL, article_form(category, status=Article.Status.PUBLISHED, published_at=future))
        article = Article.objects.get(info_code="ED1")
        assert article.status == Article.Status.PUBLISHED and not Article.objects.published().exists()
        assert "定时发布" in client.get(CHANGELIST_URL).content.decode()

        article.published_at = timezone.now() - dt.timedelta(minutes=1)
        article.save()
        assert list(Article.objects.published()) == [article]

        client.post(CHANGELIST_URL, {"action": "withdraw", "_selected_action": [article.pk]})
        article.refresh_from_db()
        assert article.status == Article.Status.DRAFT and not Article.objects.published().exists()
        assert client.get(article.get_absolute_url()).status_code == 404

        client.post(CHANGELIST_URL, {"action": "publish", "_selected_action": [article.pk]})
        assert Article.objects.published().get() == article

        change_url = f"/admin/articles/article/{article.pk}/change/"
        client.post(change_url, article_form(category, title="改过的标题", status=Article.Status.PUBLISHED))
        assert Article.objects.get().title == "改过的标题"

        first_version = Version.objects.get_for_object(article).order_by("pk").first()
        revision_url = f"/admin/articles/article/{article.pk}/history/{first_version.pk}/"
        revision_page = client.get(revision_url).content.decode()
        # Shown as it was, as text: saving restores it as it was (publishing.restore_version).
        assert '<div class="readonly">央行宣布降准</div>' in revision_page and 'name="title"' not in revision_page
        response = client.post(revision_url, {"_save": "保存"})
        assert response.status_code == 302 and response["Location"].endswith(change_url)
        assert "已恢复到" in client.get(change_url).content.decode()
        restored = Article.objects.get()
        assert restored.title == "央行宣布降准" and set(restored.tags.names()) == {"宏观", "A股", "港股"}

    def test_history_page_lists_versions(self, client, editor):
        client.post(ADD_URL, article_form(make_category()))
        article = Article.objects.get()
        client.post(CHANGELIST_URL, {"action": "publish", "_selected_action": [article.pk]})

        content = client.get(f"/admin/articles/article/{article.pk}/history/").content.decode()

        rows = BeautifulSoup(content, "lxml").select("#change-history tbody tr")
        assert len(rows) == 2
        assert all("xiaowang" in row.get_text() for row in rows)
        assert any("发布" in row.get_text() for row in rows)

    def test_staff_preview_link_for_drafts(self, client, editor):
        client.post(ADD_URL, article_form(make_category()))
        article = Article.objects.get()

        preview = client.get(f"{article.get_absolute_url()}?preview=1")
        assert preview.status_code == 200 and "预览" in preview.content.decode()
        client.logout()
        assert client.get(f"{article.get_absolute_url()}?preview=1", follow=True).status_code == 404

    def test_admin_save_is_kept_against_a_later_import(self, client, editor, write_post):
        path = write_post("2022-01-07-NW1.md", post_text(body="<p>导入的正文</p>"))
        run_import(path)
        article = Article.objects.get()
        client.post(
            f"/admin/articles/article/{article.pk}/change/",
            article_form(article.category, info_code="NW1", title="编辑改的标题", status=Article.Status.PUBLISHED),
        )
        path.write_text(post_text(body="<p>抓取器的新版本</p>"), encoding="utf-8")

        succeeded, stdout, stderr = run_import(path)

        assert "conflict" in stderr
        assert Article.objects.get().title == "编辑改的标题"


class TestCoverImage:
    def test_non_image_upload_is_a_form_error(self, client, editor):
        upload = SimpleUploadedFile("cover.png", b"<html>not an image</html>", content_type="image/png")
        response = client.post(ADD_URL, article_form(make_category(), cover_image=upload))

        assert response.status_code == 200
        assert "图片" in response.context["adminform"].form.errors["cover_image"][0]
        assert not Article.objects.exists()

    def test_decompression_bomb_is_rejected(self, client, editor):
        output = io.BytesIO()
        Image.new("1", (8000, 6000)).save(output, format="PNG")
        upload = SimpleUploadedFile("bomb.png", output.getvalue(), content_type="image/png")
        response = client.post(ADD_URL, article_form(make_category(), cover_image=upload))

        assert "像素过多" in response.context["adminform"].form.errors["cover_image"][0]
        assert not Article.objects.exists()

    def test_valid_image_gets_a_thumbnail_and_the_lists_rendition(self, client, editor):
        upload = SimpleUploadedFile("cover.png", png_bytes((1200, 900)), content_type="image/png")
        client.post(ADD_URL, article_form(make_category(), cover_image=upload))

        article = Article.objects.get()
        with Image.open(article.cover_thumbnail.path) as thumbnail:
            assert thumbnail.size == (480, 360) and thumbnail.format == "JPEG"
        with Image.open(article.cover_list_image.path) as rendition:
            assert rendition.size == (192, 128) and rendition.format == "JPEG"
        cell = BeautifulSoup(client.get(CHANGELIST_URL).content, "lxml").select_one("td.field-thumbnail img")
        assert cell["src"] == article.cover_list_image.url  # the list's 48 px cell: the small one

    def test_a_cover_the_release_before_removed_is_not_listed(self, client, editor):
        """The release before 0023 removes a cover (its file and thumbnail) knowing nothing of the
        lists' rendition, which it leaves: the list shows no cover, as the site's lists do."""
        upload = SimpleUploadedFile("cover.png", png_bytes((1200, 900)), content_type="image/png")
        client.post(ADD_URL, article_form(make_category(), cover_image=upload))
        Article.objects.update(cover_image="", cover_thumbnail="")

        cell = BeautifulSoup(client.get(CHANGELIST_URL).content, "lxml").select_one("td.field-thumbnail")
        assert cell is not None and cell.img is None


class TestPermissionsAndSecurity:
    def test_editor_cannot_manage_users_or_groups(self, client, editor):
        assert client.get("/admin/auth/user/").status_code == 403
        assert client.get("/admin/auth/group/").status_code == 403
        assert client.get(CHANGELIST_URL).status_code == 200

    def test_staff_without_publish_permission_cannot_set_status(self, client, db):
        user = User.objects.create_user("intern", password="x", is_staff=True)
        user.user_permissions.set(
            Group.objects.get(name=EDITOR_GROUP_NAME).permissions.exclude(codename="publish_article")
        )
        client.force_login(user)

        client.post(ADD_URL, article_form(make_category(), status=Article.Status.PUBLISHED))

        assert Article.objects.get().status == Article.Status.DRAFT

    def test_publish_time_of_a_published_article_is_read_only_without_publish_permission(self, client, db):
        article = make_article(status=Article.Status.PUBLISHED)
        client.force_login(make_editor("intern", publisher=False))
        change_url = f"/admin/articles/article/{article.pk}/change/"
        assert 'name="published_at_0"' not in client.get(change_url).content.decode()

        later = timezone.localtime() + dt.timedelta(days=3)
        response = client.post(
            change_url, article_form(article.category, info_code=article.info_code, published_at=later)
        )

        assert response.status_code == 302
        saved = Article.objects.get()
        assert saved.published_at == article.published_at and saved.title == "央行宣布降准"

    def test_publish_time_of_a_draft_stays_editable_without_publish_permission(self, client, db):
        article = make_article(status=Article.Status.DRAFT)
        client.force_login(make_editor("intern", publisher=False))
        later = (timezone.localtime() + dt.timedelta(days=3)).replace(microsecond=0)

        client.post(
            f"/admin/articles/article/{article.pk}/change/",
            article_form(article.category, info_code=article.info_code, published_at=later),
        )

        assert Article.objects.get().published_at == later

    @pytest.mark.parametrize("info_code", ["A B", "a/b", "..", "<script>"])
    def test_an_info_code_a_url_cannot_carry_is_a_clear_error(self, client, editor, info_code):
        response = client.post(ADD_URL, article_form(make_category(), info_code=info_code))

        assert response.status_code == 200
        assert "资讯编号只能由英文字母、数字和 . _ - 组成" in response.context["adminform"].form.errors["info_code"][0]
        assert not Article.objects.exists()

    def test_stock_codes_follow_the_same_rule(self, client, editor):
        add_url = "/admin/articles/stockreference/add/"
        refused = client.post(add_url, {"code": "BRK B", "market": "nyse", "name": "伯克希尔"})
        assert "股票代码只能由" in refused.context["adminform"].form.errors["code"][0]

        assert client.post(add_url, {"code": "BRK-B", "market": "nyse", "name": "伯克希尔"}).status_code == 302
        assert StockReference.objects.get().code == "BRK-B"

    def test_tags_typed_with_markup_are_text_as_typed(self, client, editor):
        client.post(ADD_URL, article_form(make_category(), tags="<b>宏观</b>，<i>A股</i>、<br>"))

        assert sorted(Article.objects.get().tags.names()) == ["<b>宏观</b>", "<br>", "<i>A股</i>"]

    def test_a_saved_form_keeps_a_tag_with_a_space(self, client, editor):
        category = make_category()
        article = make_article(info_code="ED1", category=category, tags=["Federal Reserve", "宏观"])
        change_url = f"/admin/articles/article/{article.pk}/change/"
        page = BeautifulSoup(client.get(change_url).content.decode(), "lxml")
        shown = page.select_one('input[name="tags"]')["value"]

        client.post(change_url, article_form(category, tags=shown, seen_updated_at=seen_in(str(page))))

        assert sorted(Article.objects.get().tags.names()) == ["Federal Reserve", "宏观"]

    def test_the_responsible_editor_is_shown_by_name(self, client, editor):
        editor.last_name, editor.first_name = "王", "明"
        editor.save()
        article = make_article(category=make_category(), status=Article.Status.DRAFT)
        change_url = f"/admin/articles/article/{article.pk}/change/"
        assert "发布时自动填写为发布它的编辑" in client.get(change_url).content.decode()

        publishing.set_status(Article.objects.filter(pk=article.pk), Article.Status.PUBLISHED, user=editor)

        shown = BeautifulSoup(client.get(change_url).content.decode(), "lxml")
        assert shown.select_one(".field-responsible_editor_name .readonly").get_text(strip=True) == "王明"

    def test_the_admin_greets_the_editor_by_full_name(self, client, editor):
        editor.last_name, editor.first_name = "王", "明"
        editor.save()

        page = BeautifulSoup(client.get("/admin/").content.decode(), "lxml")

        assert page.select_one("#user-tools").get_text(" ", strip=True).startswith("欢迎， 王明 。")

    @pytest.mark.parametrize("url", ["/admin/login/", "/admin/", "/admin/articles/article/"])
    def test_admin_pages_name_the_site_icon(self, client, editor, url):
        # Without it browsers ask for /favicon.ico, which answers 404 (after a 301 to /favicon.ico/).
        if url == "/admin/login/":
            client.logout()
        page = BeautifulSoup(client.get(url).content.decode(), "lxml")

        icon = page.select_one("link[rel=icon]")
        assert icon is not None and icon["href"].endswith("favicon.svg")
        assert client.get(icon["href"]).status_code == 200

    def test_save_messages_read_as_one_chinese_voice(self, client, editor):
        category = make_category()
        added = client.post(ADD_URL, article_form(category, title="降准", _continue="保存并继续编辑"), follow=True)
        article = Article.objects.get()
        seen = seen_in(added.content.decode())
        changed = client.post(
            f"/admin/articles/article/{article.pk}/change/",
            article_form(category, title="降准", _continue="保存并继续编辑", seen_updated_at=seen),
            follow=True,
        )

        said = [
            BeautifulSoup(str(message), "lxml").get_text()
            for response in (added, changed)
            for message in response.context["messages"]
        ]
        assert said == ["已添加文章“降准”。 可以在下面继续修改。", "已保存文章“降准”，可以在下面继续修改。"]

    def test_the_compiled_admin_messages_match_their_source(self):
        folder = Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES"
        pairs = dict(re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', (folder / "django.po").read_text("utf-8"), re.M))
        with (folder / "django.mo").open("rb") as compiled:
            catalog = gettext.GNUTranslations(compiled)
        assert pairs and {msgid: catalog.gettext(msgid) for msgid in pairs} == pairs

    def test_login_is_throttled_after_repeated_wrong_passwords(self, client, db):
        User.objects.create_superuser("boss", password="the-right-passphrase-9")
        for _ in range(5):
            client.post("/admin/login/", {"username": "boss", "password": "wrong"})

        response = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": "the-right-passphrase-9"})

        assert response.status_code == 429 and "锁定" in response.content.decode()
        assert "_auth_user_id" not in client.session


class TestListsAndOtherAdmins:
    def test_changelist_query_count_does_not_grow_with_rows(self, client, editor):
        category, stocks = make_category(), [make_stock("600000"), make_stock("600001")]

        def changelist_queries():
            cache.clear()  # the same facts to compute each time (the sources are kept per content version)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(CHANGELIST_URL).status_code == 200
            return len(queries)

        for _ in range(5):
            make_article(category=make_category(), tags=["宏观"], stocks=stocks)
        few = changelist_queries()
        for _ in range(95):
            make_article(category=category, tags=["宏观", "港股"], stocks=stocks)
        many = changelist_queries()

        assert few == many

    def test_filters_by_tag_source_and_date(self, client, editor):
        make_article(title="有标签的文章", tags=["宏观"], source_name="财联社", published_at=timezone.now())
        make_article(
            title="别的文章", tags=["港股"], source_name="证券时报", published_at=timezone.now() - dt.timedelta(days=60)
        )
        macro = Tag.objects.get(name="宏观")

        def titles(**params):
            content = client.get(CHANGELIST_URL, params).content.decode()
            return {title for title in ("有标签的文章", "别的文章") if f">{title}<" in content}

        page = client.get(CHANGELIST_URL).content.decode()
        assert "财联社" in page and "证券时报" in page, "the sources are listed to choose from"
        assert titles(tag=macro.pk) == {"有标签的文章"}
        assert titles(source_name="证券时报") == {"别的文章"}
        # As the filter's own "过去7天" link gives it: the start of a day in Beijing.
        week_ago = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=7)
        assert titles(published_at__gte=str(week_ago)) == {"有标签的文章"}
        assert client.get(CHANGELIST_URL, {"tag": "x"}).status_code == 302, "a bad value: back to the list"

    def test_sqlite_never_sorts_every_article_for_a_list(self, client, editor):
        if connection.vendor != "sqlite":
            pytest.skip("reads SQLite's query plans")
        category = make_category()
        make_article(category=category, tags=["宏观"], stocks=[make_stock("600000")])
        tag = Tag.objects.get(name="宏观")
        for params in ({}, {"category__id__exact": category.pk}, {"tag": tag.pk}, {"status__exact": "draft"}):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(CHANGELIST_URL, params).status_code == 200
            [listing] = [
                query["sql"] for query in queries.captured_queries if '"articles_article"."info_code"' in query["sql"]
            ]
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN QUERY PLAN {listing}")
                plan = " ".join(row[-1] for row in cursor.fetchall())
            assert "TEMP B-TREE" not in plan, (params, plan)

    def test_search_by_stock_code_and_info_code(self, client, editor, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            make_article(title="提到太保的文章", stocks=[make_stock("601601")])
            make_article(title="别的文章", info_code="NW999")

        by_stock = client.get(CHANGELIST_URL, {"q": "601601"}).content.decode()
        by_code = client.get(CHANGELIST_URL, {"q": "NW999"}).content.decode()

        assert "提到太保的文章" in by_stock and "别的文章" not in by_stock
        assert "别的文章" in by_code and "提到太保的文章" not in by_code

    def test_merge_tags(self, client, editor):
        shared = make_article(tags=["港股", "香港股市"])
        only_old = make_article(tags=["香港股市"])
        make_article(tags=["港股"])
        make_article(tags=["港股"])
        ids = list(Tag.objects.filter(name__in=["港股", "香港股市"]).values_list("pk", flat=True))

        client.post("/admin/articles/tag/", {"action": "merge_tags", "_selected_action": ids})

        assert list(Tag.objects.values_list("name", flat=True)) == ["港股"]
        assert list(shared.tags.names()) == ["港股"] and list(only_old.tags.names()) == ["港股"]

    @pytest.mark.parametrize(
        "url", ["/admin/articles/category/", "/admin/articles/tag/", "/admin/articles/stockreference/"]
    )
    def test_other_admins_show_article_counts(self, client, editor, url):
        category, stock = make_category("宏观新闻"), make_stock("601601", name="中国太保")
        make_article(category=category, tags=["宏观"], stocks=[stock])
        make_article(category=category, tags=["宏观"], stocks=[stock])
        make_article(category=make_category("其他"), tags=["其他"])

        soup = BeautifulSoup(client.get(url).content.decode(), "lxml")

        counts = {
            row.select_one("th").get_text(strip=True): row.select_one("td.field-article_count").get_text(strip=True)
            for row in soup.select("#result_list tbody tr")
        }
        assert counts[{"category": "宏观新闻", "tag": "宏观", "stockreference": "601601"}[url.split("/")[-2]]] == "2"

    @pytest.mark.parametrize("model, slug", [("category", "cai-jing-yao-wen"), ("tag", "cai-jing-yao-wen")])
    def test_a_category_or_tag_added_without_a_slug_gets_its_name_s_pinyin(self, client, editor, model, slug):
        # The help text says so; the form refused an empty 网址别名 ("这个字段是必填项").
        page = BeautifulSoup(client.get(f"/admin/articles/{model}/add/").content.decode(), "lxml")
        assert "留空则由名称的拼音生成" in page.select_one(".field-slug").get_text()

        response = client.post(f"/admin/articles/{model}/add/", {"name": "财经要闻", "slug": "", "_save": "保存"})

        assert response.status_code == 302
        stored = {"category": Category, "tag": Tag}[model].objects.get(name="财经要闻")
        assert stored.slug == slug

    def test_a_slug_that_cannot_be_one_says_what_a_slug_is(self, client, editor):
        # Django's Chinese called it 有效“字段” (a valid "field"): no editor could tell what to type.
        response = client.post(ADD_URL, article_form(make_category(), slug="央行降准"))

        error = BeautifulSoup(response.content.decode(), "lxml").select_one(".field-slug .errorlist").get_text()
        assert error.startswith("网址别名只能由英文字母、数字、下划线（_）和连字符（-）组成")
        assert not Article.objects.exists()

    def test_admin_is_in_chinese(self, client, editor):
        make_article()
        content = client.get(CHANGELIST_URL).content.decode()
        assert "金融消息 · 编辑后台" in content and "发布所选文章" in content and "撤回为草稿" in content


def test_start_up_leaves_the_admin_out_and_its_checks_still_see_every_model_admin():
    """A command (the import from cron) does not pay for the admin's modules; `manage.py check` still
    checks every ModelAdmin, and the URLconf still serves them (finews.apps.AdminConfig)."""
    script = (
        "import sys, django; django.setup(); from django.contrib import admin; from django.core import checks; "
        "print('articles.admin' in sys.modules, len(admin.site._registry)); checks.run_checks(tags=['admin']); "
        "from articles.models import Article; print(admin.site.is_registered(Article))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True
    )

    assert result.stdout.split() == ["False", "0", "True"], result.stderr
