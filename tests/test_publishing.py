"""The one write path (articles/publishing.py): whole rows, revisions with tags, rules, permissions."""

import datetime as dt
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import reversion
from bs4 import BeautifulSoup
from django.contrib.auth.models import User
from django.core import serializers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from PIL import Image
from reversion.models import Revision, Version

from articles import publishing
from articles.caching import front
from articles.models import Article, Category, Market, StockListing, StockReference, Tag
from tests.conftest import post_text, run_import
from tests.factories import make_article, make_category, make_editor, make_stock

BASE_DIR = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.django_db


def versions_of(article):
    return Version.objects.get_for_object(article).order_by("pk")


class TestImportsAreWholeRevisions:
    def test_a_changed_file_moves_updated_at(self, write_post, client, django_capture_on_commit_callbacks):
        path = write_post("2022-01-07-NW1.md", post_text(body="<p>第一版</p>"))
        run_import(path)
        first = Article.objects.get()
        Article.objects.filter(pk=first.pk).update(updated_at=timezone.now() - dt.timedelta(days=1))
        served = client.get(first.get_absolute_url())

        path.write_text(post_text(body="<p>第二版</p>"), encoding="utf-8")
        with django_capture_on_commit_callbacks(execute=True):
            run_import(path)

        article = Article.objects.get()
        assert article.body == "<p>第二版</p>" and article.updated_at > timezone.now() - dt.timedelta(minutes=1)
        again = client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=served["ETag"])
        assert again.status_code == 200 and "第二版" in again.content.decode()
        assert served["ETag"] != again["ETag"]

    def test_a_revision_holds_what_djangos_serializer_writes(self):
        """publishing writes revisions itself, without Django's serializer: the same text, for a
        new article as saved (its stocks held), as read back (its stocks read) and its tag rows."""
        stocks = [make_stock("601601", Market.SHANGHAI), make_stock("00700", Market.HONG_KONG)]
        article = make_article(tags=["宏观", "港股"], stocks=stocks)
        stored = [version.serialized_data for version in versions_of(article).first().revision.version_set.all()]
        read_back = Article.objects.get(pk=article.pk)
        for instance in [article, read_back, *read_back.tagged_items.all()]:
            assert publishing._serialized(instance) == serializers.serialize("json", [instance])
        assert publishing._serialized(article) in stored
        assert sorted(json.loads(publishing._serialized(read_back))[0]["fields"]["stocks"]) == sorted(
            stock.pk for stock in stocks
        )

    def test_restoring_an_imported_version_restores_its_tags_and_stocks(self, write_post):
        body = '<p><a data-code="1,601601">中国太保</a></p>'
        path = write_post("2022-01-07-NW1.md", post_text(extra="tags: [宏观, 港股]\n", body=body))
        run_import(path)
        path.write_text(post_text(extra="tags: [债市]\n", body="<p>无股票</p>"), encoding="utf-8")
        run_import(path)
        article = Article.objects.get()
        assert list(article.tags.names()) == ["债市"] and not article.stocks.exists()

        versions_of(article).first().revision.revert(delete=True)

        article.refresh_from_db()
        assert sorted(article.tags.names()) == ["宏观", "港股"]
        assert [stock.code for stock in article.stocks.all()] == ["601601"]
        assert "中国太保" in article.body

    def test_a_new_articles_revision_records_its_tags_and_stocks_as_stored(self):
        # Given out of order and twice: the revision lists them as a read of the database would.
        stocks = [make_stock("600000"), make_stock("00700", Market.HONG_KONG), make_stock("000001", Market.SHENZHEN)]
        article = make_article(tags=["宏观", "港股"], stocks=[*stocks, stocks[0]])

        (version,) = versions_of(article)
        stored = Article.objects.get(pk=article.pk)
        stored_stocks = list(stored.stocks.values_list("pk", flat=True))
        assert json.loads(version.serialized_data)[0]["fields"]["stocks"] == stored_stocks
        tagged = version.revision.version_set.filter(content_type__model="taggedarticle")
        assert sorted((item.object_id, item.field_dict["tag_id"]) for item in tagged) == sorted(
            (str(pk), tag_id) for pk, tag_id in stored.tagged_items.values_list("pk", "tag_id")
        )
        assert [stock.pk for stock in article.stocks.all()] == stored_stocks
        article.stocks.remove(stocks[0])  # what is held is dropped, as after a prefetch
        assert stocks[0] not in article.stocks.all() and len(article.stocks.all()) == 2

    def test_a_revision_holds_what_reversion_itself_would_record(self):
        """save_article writes its revision's rows itself (without reversion's reading back
        whether each object exists): the same rows as reversion's, for its history, compare
        and restore pages."""
        article = make_article(tags=["宏观", "港股"], stocks=[make_stock("600000"), make_stock("000001")])
        with reversion.create_revision():
            reversion.add_to_revision(Article.objects.get(pk=article.pk))
        ours, theirs = Revision.objects.order_by("pk")

        def rows(revision):
            return sorted(
                (version.content_type_id, version.object_id, version.db, version.format, version.object_repr)
                + (json.dumps(json.loads(version.serialized_data), sort_keys=True),)
                for version in revision.version_set.all()
            )

        assert len(rows(ours)) == 3 and rows(ours) == rows(theirs)

    def test_each_import_is_one_revision_saying_which_file(self, write_post):
        path = write_post("2022-01-07-NW1.md", post_text())
        run_import(path)

        (version,) = versions_of(Article.objects.get())
        assert version.revision.comment == "导入 2022-01-07-NW1.md"


class TestValidation:
    @pytest.mark.parametrize("code", ["A B", "a/b", "<x>", ".", "..", "中文", "x" * 65])
    def test_info_codes_a_url_cannot_carry_are_refused(self, code):
        with pytest.raises(ValidationError) as refused:
            make_article(info_code=code)

        assert "资讯编号" in " ".join(refused.value.message_dict["info_code"])
        assert not Article.objects.exists()

    @pytest.mark.parametrize("code", ["NW202201072239950893", "a.b_c-d", "..."])
    def test_every_code_validation_accepts_has_a_page(self, client, code):
        article = make_article(info_code=code)
        assert client.get(article.get_absolute_url()).status_code == 200

    def test_a_ticker_with_a_dash_has_a_page_and_its_articles_theirs(self, client):
        stock = make_stock("BRK-B", market="nyse", name="伯克希尔")
        article = make_article(stocks=[stock])

        assert client.get(stock.get_absolute_url()).status_code == 200
        assert stock.get_absolute_url() in client.get(article.get_absolute_url()).content.decode()
        assert client.get("/").status_code == 200

    @pytest.mark.parametrize("code", ["BRK B", "a/b", ".."])
    def test_stock_codes_a_url_cannot_carry_are_refused(self, code):
        with pytest.raises(ValidationError) as refused:
            publishing.save_topic(StockReference(code=code, market="nyse"))
        assert "股票代码" in refused.value.message_dict["code"][0]

    @pytest.mark.parametrize(
        ("topic", "field"), [(Category(name="宏观\u202e新闻"), "name"), (Tag(name="\u200b港股"), "name")]
    )
    def test_names_with_invisible_format_characters_are_refused(self, topic, field):
        with pytest.raises(ValidationError) as refused:
            publishing.save_topic(topic)
        assert "看不见的格式字符" in refused.value.message_dict[field][0]

    def test_tag_names_with_invisible_format_characters_are_refused(self):
        article = make_article()
        with pytest.raises(ValidationError) as refused:
            publishing.save_article(article, tags=["港股\u2066"])
        assert "看不见的格式字符" in refused.value.message_dict["tags"][0]
        assert not Tag.objects.exists()

    def test_fields_validated_beforehand_are_validated_again_once_changed(self):
        """The import's workers validate what they parse (validate_fields); the writer's save
        trusts those values only while the article still has them."""
        values = publishing.validate_fields({"info_code": "NW1", "title": "标题", "source_url": "https://a.example/"})
        with pytest.raises(ValidationError):
            publishing.validate_fields({"title": "标题", "source_url": "not a link"})
        article = Article(category=make_category(), status=Article.Status.PUBLISHED, **values)
        article.source_url = "javascript:alert(1)"

        with pytest.raises(ValidationError) as refused:
            publishing.save_article(article, validated=values)

        assert list(refused.value.message_dict) == ["source_url"] and not Article.objects.exists()
        article.source_url = values["source_url"]
        assert publishing.save_article(article, validated=values).source_url == "https://a.example/"

    @pytest.mark.parametrize("name", ["A&B 1<2", "<b>宏观</b>", "&lt;i&gt;港股", "苹果<AAPL.O>", "A股<B股"])
    def test_names_that_look_like_markup_are_text(self, name):
        category = publishing.save_topic(Category(name=name))
        assert Category.objects.get(pk=category.pk).name == name


class TestPublishingRules:
    @pytest.fixture
    def writer(self):
        """May write articles, not publish them."""
        return make_editor("writer", publisher=False)

    def test_who_may_not_publish_cannot_move_a_published_article_in_time(self, writer):
        article = make_article()
        for moved in (timezone.now() + dt.timedelta(days=1), article.published_at - dt.timedelta(days=1)):
            article.refresh_from_db()
            article.published_at = moved
            with pytest.raises(PermissionDenied):
                publishing.save_article(article, user=writer)
        article.refresh_from_db()
        assert Article.objects.published().get() == article

    def test_who_may_not_publish_cannot_publish_or_withdraw(self, writer):
        draft, published = make_article(status=Article.Status.DRAFT), make_article()
        draft.status = Article.Status.PUBLISHED
        with pytest.raises(PermissionDenied):
            publishing.save_article(draft, user=writer)
        with pytest.raises(PermissionDenied):
            publishing.set_status(Article.objects.filter(pk=published.pk), Article.Status.DRAFT, user=writer)
        with pytest.raises(PermissionDenied):
            publishing.save_article(Article(title="新稿", category=make_category(), status="published"), user=writer)
        assert list(Article.objects.published()) == [published]

    def test_who_may_not_publish_still_writes_drafts_and_edits_published_text(self, writer):
        draft, published = make_article(status=Article.Status.DRAFT), make_article()
        draft.published_at = timezone.now() + dt.timedelta(days=2)
        published.title = "改过的标题"

        publishing.save_article(draft, user=writer)
        publishing.save_article(published, user=writer, tags=["宏观"])

        assert Article.objects.get(pk=published.pk).title == "改过的标题"
        assert versions_of(published).last().revision.user == writer

    def test_a_user_without_the_change_permission_writes_nothing(self):
        article = make_article()
        article.title = "不该保存"
        with pytest.raises(PermissionDenied):
            publishing.save_article(article, user=User.objects.create_user("visitor", is_staff=True))
        assert Article.objects.get().title != "不该保存"

    def test_a_tag_merge_is_recorded_with_the_tags_after_it(self):
        article = make_article(tags=["香港股市"])
        make_article(tags=["港股"])
        kept, merged = Tag.objects.get(name="港股"), Tag.objects.get(name="香港股市")

        publishing.merge_tags(kept, [merged], user=make_editor())

        version = versions_of(article).last()
        assert version.revision.comment == "合并标签到“港股”"
        tagged = version.revision.version_set.filter(content_type__model="taggedarticle")
        assert [entry.field_dict["tag_id"] for entry in tagged] == [kept.pk]

    def test_a_tag_merge_reads_its_articles_stocks_with_them(self):
        """Its queries do not grow with the articles it records (a source's tag: tens of thousands)."""
        from django.test.utils import CaptureQueriesContext

        stock = make_stock()
        counts = []
        for many in (2, 8):
            for _ in range(many):
                make_article(tags=[f"合并{many}"], stocks=[stock])
            make_article(tags=[f"留下{many}"])
            kept, merged = Tag.objects.get(name=f"留下{many}"), Tag.objects.get(name=f"合并{many}")
            with CaptureQueriesContext(connection) as queries:
                publishing.merge_tags(kept, [merged])
            counts.append(len(queries))

        assert counts[0] == counts[1]
        merged_one = Article.objects.filter(tagged_items__tag__name="留下8", stocks=stock).first()
        assert versions_of(merged_one).last().field_dict["stocks"] == [stock.pk]

    @pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's limit, by which Django batches there alone")
    def test_a_tag_merge_stays_within_sqlite_s_values_to_a_statement(self, monkeypatch):
        """A source's tag is on tens of thousands of articles; SQLite takes at most 32,766 values to a
        statement. Here the limit is made small (20), not the articles many: Django's own batches
        (a deletion's, bulk_create's) follow its max_query_params, finews' VALUES_PER_STATEMENT."""
        from articles import search

        monkeypatch.setattr(connection.features, "max_query_params", 20)
        monkeypatch.setattr(publishing, "VALUES_PER_STATEMENT", 20)
        monkeypatch.setattr(search, "INDEX_BATCH_SIZE", 20)
        articles = [make_article(tags=["香港股市", *(["港股"] if number % 5 == 0 else [])]) for number in range(50)]
        kept, merged = Tag.objects.get(name="港股"), Tag.objects.get(name="香港股市")
        values = []

        def count_values(execute, sql, params, many, context):
            values.append(max(map(len, params), default=0) if many else len(params or ()))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count_values):
            publishing.merge_tags(kept, [merged])

        assert max(values) <= 20
        assert sorted(Article.objects.filter(tagged_items__tag=kept).values_list("pk", flat=True)) == sorted(
            article.pk for article in articles
        )
        assert {versions_of(article).last().revision.comment for article in articles} == {"合并标签到“港股”"}


def gif_with_a_hidden_script():
    output = io.BytesIO()
    Image.new("P", (40, 30), 3).save(output, format="GIF", comment=b"<script>alert(1)</script>")
    return output.getvalue() + b"<script>alert(2)</script>"


def jpeg_with_exif():
    output = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"
    Image.new("RGB", (40, 30), "blue").save(output, format="JPEG", exif=exif)
    return output.getvalue()


class TestCoverImages:
    @pytest.fixture(autouse=True)
    def media_root(self, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path / "media"
        return settings.MEDIA_ROOT

    @pytest.mark.parametrize(
        ("name", "data", "image_format", "secret"),
        [
            ("cover.gif", gif_with_a_hidden_script(), "GIF", b"script"),
            ("photo.jpg", jpeg_with_exif(), "JPEG", b"SecretCameraMaker"),
        ],
    )
    def test_uploads_are_stored_re_encoded_without_metadata_or_what_was_appended(
        self, name, data, image_format, secret
    ):
        assert secret in data
        article = make_article(cover_image=SimpleUploadedFile(name, data))

        stored = Article.objects.get(pk=article.pk).cover_image
        content = stored.read()
        assert secret not in content
        with Image.open(io.BytesIO(content)) as image:
            assert image.format == image_format and image.size == (40, 30)
        assert Article.objects.get(pk=article.pk).cover_thumbnail

    @pytest.mark.parametrize(
        ("media_url", "expected"),
        [
            ("/media/", "http://testserver/media/covers/"),
            # Object storage: the storage's URL is already absolute.
            ("https://bucket.s3.example.com/media/", "https://bucket.s3.example.com/media/covers/"),
        ],
    )
    def test_pages_name_the_cover_by_one_absolute_url(self, client, settings, media_url, expected):
        settings.MEDIA_URL = media_url
        article = make_article(cover_image=SimpleUploadedFile("cover.gif", gif_with_a_hidden_script()))

        page = BeautifulSoup(client.get(article.get_absolute_url()).content, "lxml")

        og_image = page.select_one('meta[property="og:image"]')["content"]
        (json_ld,) = page.select('script[type="application/ld+json"]')
        assert og_image.startswith(expected) and og_image.endswith(".gif")
        assert json.loads(json_ld.string)["image"] == [og_image]
        assert page.select_one("img.cover")["src"].startswith(expected.removeprefix("http://testserver"))

    def test_covers_are_served_by_the_site(self, client):
        article = make_article(cover_image=SimpleUploadedFile("cover.gif", gif_with_a_hidden_script()))
        url = Article.objects.get(pk=article.pk).cover_image.url
        assert url.startswith("/media/covers/")

        response = client.get(url)

        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
        assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
        assert "max-age" in response["Cache-Control"]
        assert b"".join(response.streaming_content).startswith(b"GIF8")
        assert client.get(url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"]).status_code == 304

    @pytest.mark.parametrize("path", ["/media/../settings.py", "/media/%2e%2e/manage.py", "/media/notes.html"])
    def test_nothing_else_is_served_from_media(self, client, media_root, path):
        media_root.mkdir(parents=True, exist_ok=True)
        (media_root / "notes.html").write_text("<script>alert(1)</script>")
        assert client.get(path).status_code == 404


def test_a_body_is_stored_as_the_allow_list_leaves_it_whoever_writes_it():
    article = make_article(
        body='<p onclick="x()">正文<script>alert(1)</script><a href="javascript:alert(2)">链接</a></p>'
    )

    stored = Article.objects.get(pk=article.pk).body
    assert "script" not in stored and "onclick" not in stored and "javascript:" not in stored and "正文" in stored


def test_a_body_is_cleaned_to_the_same_text_in_every_process():
    """nh3 adds an image's loading hints in an order each process draws: sanitize_html settles it,
    or an unchanged body saved from another process would be a change (a revision, an edit)."""
    script = "from articles.sanitize import sanitize_html; print(sanitize_html('<img src=\\'https://a.cn/1.jpg\\'>'))"
    outputs = {
        subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, capture_output=True, text=True, check=True).stdout
        for _ in range(12)
    }
    assert outputs == {'<img src="https://a.cn/1.jpg" loading="lazy" decoding="async">\n'}


def test_migration_0022_puts_stored_image_hints_in_the_one_order(db):
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    from articles.sanitize import sanitize_html

    migration = MigrationLoader(None).disk_migrations[("articles", "0022_image_hints_in_one_order")]
    module = __import__(type(migration).__module__, fromlist=["put_hints_in_order"])
    drawn = '<p>图一</p><p><img src="https://a.cn/1.jpg" alt="图" decoding="async" loading="lazy"></p>'
    articles = [make_article(), make_article()]
    Article.objects.filter(pk=articles[0].pk).update(body=drawn)
    untouched = Article.objects.get(pk=articles[1].pk)
    stored_at = Article.objects.get(pk=articles[0].pk).updated_at

    module.put_hints_in_order(apps, None)

    fixed = Article.objects.get(pk=articles[0].pk)
    # What an editor's save of the unchanged body makes of it: the same text, so no change.
    assert (
        fixed.body
        == sanitize_html(drawn)
        == drawn.replace('decoding="async" loading="lazy"', 'loading="lazy" decoding="async"')
    )
    assert fixed.updated_at == stored_at
    assert Article.objects.get(pk=untouched.pk).body == untouched.body


def test_a_body_nested_past_the_limit_is_refused_by_the_one_write_path():
    article = make_article(body="<p>原文</p>")
    article.body = "<blockquote>" * 101 + "深" + "</blockquote>" * 101

    with pytest.raises(ValidationError) as refused:
        publishing.save_article(article)

    assert "嵌套超过 100 层" in refused.value.message_dict["body"][0]
    assert Article.objects.get(pk=article.pk).body == "<p>原文</p>"


@pytest.mark.parametrize(
    "field, value",
    [("title", "降\x0b准"), ("summary", "摘要\x08"), ("source_name", "财联社\x0c"), ("title", "非字符\ufffe")],
)
def test_control_characters_are_refused_by_the_one_write_path(field, value):
    article = make_article(title="原标题")
    setattr(article, field, value)

    with pytest.raises(ValidationError) as refused:
        publishing.save_article(article)

    assert "控制字符" in refused.value.message_dict[field][0]
    assert Article.objects.get(pk=article.pk).title == "原标题"


def test_control_characters_pasted_into_a_title_or_body_are_dropped_like_markup():
    article = make_article(title="原标题")
    article.body = "<p>正\x0b文\x7f</p>"
    publishing.save_article(article)
    assert Article.objects.get(pk=article.pk).body == "<p>正文</p>"


class TestOneWritePath:
    """No module but articles/publishing.py writes a content model (articles, categories, tags,
    stocks and their links): every change is validated, permission-checked, recorded, indexed and
    purged there once. Found by ``git grep`` over the application's code (migrations aside, and
    the search index's own tables, which publishing writes through articles/search)."""

    WRITES = re.compile(
        r"(objects|\))\.(save|delete|update|bulk_create|bulk_update|create|get_or_create|update_or_create)\("
        r"|\b\w+\.(save|delete)\((\)|\*|update_fields|force|using)"
        r"|\.(tags|stocks|tagged_items|copies|articles)\.(add|set|remove|clear)\("
        r"|(INSERT INTO|UPDATE|DELETE FROM)\s+\W?articles_(?!search)"
    )
    # Writes of what is not content, each with why it may live where it does.
    NOT_CONTENT = {
        ("articles/admin.py", "queryset.filter(revoked_at__isnull=True).update("),  # ingest tokens
        ("articles/api/ingest.py", "IngestToken.objects.filter("),
        ("articles/management/commands/ingest_token.py", "IngestToken.objects.filter("),
        ("articles/intake/runs.py", "ImportRun.objects.create("),  # the record of import runs
        ("articles/intake/runs.py", "run.save()"),
        ("articles/intake/runs.py", "ImportProblem.objects.bulk_create("),
        ("articles/intake/runs.py", "ImportTotal.objects.get_or_create("),
        ("articles/intake/runs.py", "ImportTotal.objects.filter("),
        ("articles/intake/runs.py", "ImportRun.objects.filter("),
        ("articles/models.py", "super().save(*args, **kwargs)"),  # the models' own save(), called by publishing
        ("articles/models.py", "token.save()"),
        ("articles/roles.py", "Group.objects.get_or_create("),
        ("articles/roles.py", "group.permissions.set("),
        ("articles/roles.py", "user.save()"),  # a new editor's account (create_member)
        ("articles/images.py", "frames[0].save(output"),  # Pillow images, not rows
        ("articles/images.py", "thumbnail.save(output"),
        ("articles/search/__init__.py", "current_backend().delete(cursor"),  # the index's own tables
    }

    def writes_outside_publishing(self, lines):
        """(path, line) of each write in ``lines`` (``git grep -n`` output) not allowed above."""
        found = []
        for line in lines:
            path, _, text = line.split(":", 2)
            if path == "articles/publishing.py" or not self.WRITES.search(text):
                continue
            if not any(path == allowed_path and snippet in text for allowed_path, snippet in self.NOT_CONTENT):
                found.append((path, text.strip()))
        return found

    def test_no_content_model_is_written_outside_publishing(self):
        base = Path(__file__).resolve().parents[1]
        grep = subprocess.run(
            ["git", "grep", "-n", "-I", "-e", ".", "--", "articles/*.py", "finews/*.py", ":!articles/migrations"],
            cwd=base, capture_output=True, text=True, check=True,
        )  # fmt: skip

        assert self.writes_outside_publishing(grep.stdout.splitlines()) == []

    @pytest.mark.parametrize(
        "line",
        [
            "articles/site/views.py:1:    Article.objects.filter(pk=pk).update(title=title)",
            "articles/admin.py:2:        obj.save()",
            "articles/intake/importer.py:3:        StockReference.objects.bulk_create(missing, ignore_conflicts=True)",
            "articles/admin.py:4:        article.tags.set(names)",
            "articles/stories.py:5:        lead.save(update_fields=['story'])",
            'articles/api/ingest.py:6:    cursor.execute("UPDATE articles_article SET status = %s", ["draft"])',
        ],
    )
    def test_the_check_finds_a_write(self, line):
        assert self.writes_outside_publishing([line]) != []


def test_stocks_taken_for_new_are_created_once_and_those_stored_meanwhile_are_read():
    """stock_references(new=True), the import's after it read every stock: no look first, and a
    stock stored since (by another import) is the one stored, named as it was."""
    from articles.intake.stocks import StockMention

    stored = make_stock("601601", Market.SHANGHAI, name="中国太保")
    mentions = [StockMention("600000", Market.SHANGHAI, "浦发银行"), StockMention("601601", Market.SHANGHAI, "太保")]

    found = publishing.stock_references(mentions, new=True)

    assert found[(Market.SHANGHAI, "601601")].pk == stored.pk and found[(Market.SHANGHAI, "601601")].name == "中国太保"
    created = StockReference.objects.get(code="600000")
    assert found[(Market.SHANGHAI, "600000")].pk == created.pk and created.name == "浦发银行"
    assert StockReference.objects.count() == 2


class TestStockListings:
    """A stock's pages are read from StockListing rows (ArticleQuerySet.under_stock): publishing
    keeps one for each stock an article mentions, at the article's time, through every write."""

    @staticmethod
    def rows(article):
        return set(StockListing.objects.filter(article_id=article.pk).values_list("stock_id", "published_at"))

    @staticmethod
    def listed(stock):
        return list(Article.objects.listed().under_stock(stock).values_list("pk", flat=True))

    def test_kept_through_edits_status_restores_and_deletes(self):
        first, second = make_stock("600000"), make_stock("600001")
        article = make_article(stocks=[first])
        assert self.rows(article) == {(first.pk, article.published_at)}

        publishing.save_article(article, stocks=[second])
        assert self.rows(article) == {(second.pk, article.published_at)}

        article.published_at -= dt.timedelta(days=1)  # stocks left as they are
        publishing.save_article(article)
        assert self.rows(article) == {(second.pk, article.published_at)}

        # Withdrawn, its row stays and the list's published() leaves it out.
        publishing.set_status(Article.objects.filter(pk=article.pk), Article.Status.DRAFT)
        assert self.rows(article) == {(second.pk, article.published_at)} and self.listed(second) == []
        publishing.set_status(Article.objects.filter(pk=article.pk), Article.Status.PUBLISHED)
        assert self.listed(second) == [article.pk]

        publishing.restore_version(versions_of(article).first())  # its first stocks, at today's time
        assert self.rows(article) == {(first.pk, article.published_at)} and self.listed(second) == []

        publishing.delete_topics(StockReference.objects.filter(pk=first.pk))
        assert self.rows(article) == set()
        publishing.save_article(article, stocks=[second])
        publishing.delete_articles(Article.objects.filter(pk=article.pk))
        assert not StockListing.objects.exists()

    def test_an_import_writes_and_rewrites_them(self, write_post):
        path = write_post("2022-01-07-NW1.md", post_text(body='<p><a data-code="1,601601">中国太保</a></p>'))
        run_import(path)
        article = Article.objects.get()
        stock = StockReference.objects.get(code="601601")
        assert self.rows(article) == {(stock.pk, article.published_at)}

        moved = post_text(date="2022-01-06 09:00:00 +0800", body='<p><a data-code="0,000001">平安银行</a></p>')
        path.write_text(moved, encoding="utf-8")
        run_import(path)
        article.refresh_from_db()
        assert self.rows(article) == {(StockReference.objects.get(code="000001").pk, article.published_at)}
        assert timezone.localtime(article.published_at).day == 6


class TestRestore:
    """publishing.restore_version: a version as it was, tags that became others included (#23)."""

    def test_a_tag_merged_since_is_restored_as_the_tag_it_became(self):
        article = make_article(tags=["银杭"])
        first = versions_of(article).first()
        publishing.merge_tags(make_tagged_kept("银行"), [Tag.objects.get(name="银杭")])
        publishing.save_article(Article.objects.get(pk=article.pk), tags=["债市"])

        restored, warnings = publishing.restore_version(first)

        assert set(restored.tags.names()) == {"银行"} and warnings == []
        assert versions_of(article).last().revision.comment.startswith("恢复到")

    def test_a_tag_deleted_since_is_named_in_a_warning(self):
        article = make_article(tags=["港股", "临时标签"])
        first = versions_of(article).first()
        publishing.delete_topics(Tag.objects.filter(name="临时标签"))

        restored, warnings = publishing.restore_version(first)

        assert set(restored.tags.names()) == {"港股"}
        assert warnings == ["这个版本的标签“临时标签”已被删除，未能恢复。"]

    def test_the_lists_of_a_tag_the_restore_takes_away_are_purged(self, settings, django_capture_on_commit_callbacks):
        from tests.test_caching import FakeVarnish

        article = make_article(tags=["宏观"])
        first = versions_of(article).first()
        publishing.save_article(Article.objects.get(pk=article.pk), tags=["宏观", "后加的标签"])
        added = Tag.objects.get(name="后加的标签")
        varnish = FakeVarnish()
        settings.FRONT_CACHE_URLS = [varnish.url]
        try:
            with django_capture_on_commit_callbacks(execute=True):
                publishing.restore_version(first)
            front.wait(5)
        finally:
            varnish.close()

        assert f"tl{added.pk}" in varnish.purged()

    def test_the_admin_warns_the_editor_in_chinese(self, client):
        editor = make_editor()
        client.force_login(editor)
        article = make_article(tags=["港股", "临时标签"])
        first = versions_of(article).first()
        publishing.delete_topics(Tag.objects.filter(name="临时标签"))

        response = client.post(
            f"/admin/articles/article/{article.pk}/history/{first.pk}/", {"_save": "保存"}, follow=True
        )

        assert "这个版本的标签“临时标签”已被删除，未能恢复。" in response.content.decode()
        assert set(Article.objects.get(pk=article.pk).tags.names()) == {"港股"}

    def test_a_withdrawn_or_rescheduled_article_keeps_its_state_and_gets_its_old_text(self, client):
        article = make_article(title="原来的标题", body="<p>原来的正文</p>", status=Article.Status.PUBLISHED)
        first = versions_of(article).first()
        changed = Article.objects.get(pk=article.pk)
        changed.title, changed.body = "改过的标题", "<p>改过的正文</p>"
        changed.published_at = timezone.now() + dt.timedelta(days=30)  # scheduled again
        publishing.save_article(changed)
        publishing.set_status(Article.objects.filter(pk=article.pk), Article.Status.DRAFT)  # withdrawn
        client.force_login(make_editor())

        response = client.post(
            f"/admin/articles/article/{article.pk}/history/{first.pk}/", {"_save": "保存"}, follow=True
        )

        restored = Article.objects.get(pk=article.pk)
        assert (restored.title, restored.body) == ("原来的标题", "<p>原来的正文</p>")
        assert restored.status == Article.Status.DRAFT and restored.published_at == changed.published_at
        assert "状态（草稿）和发布时间没有改变" in response.content.decode()

    def test_restoring_needs_the_permission_to_change(self):
        article = make_article(title="原来的标题")
        first = versions_of(article).first()
        reader = User.objects.create_user("reader", password="x", is_staff=True)

        with pytest.raises(PermissionDenied):
            publishing.restore_version(first, user=reader)


def make_tagged_kept(name):
    """A tag ``name`` on an article of its own (so a merge keeps it)."""
    make_article(tags=[name])
    return Tag.objects.get(name=name)
