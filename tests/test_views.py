import datetime as dt
import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from articles import publishing
from articles.models import Article, Category, Market
from articles.site.sitemaps import ArticleSitemap
from tests.factories import make_article, make_category, make_editor, make_stock

pytestmark = pytest.mark.django_db

SEED_URL = "/news/NW202201072239950893/"


def page(client, url, status=200, **extra):
    response = client.get(url, **extra)
    assert response.status_code == status, f"{url}: {response.status_code}"
    return response


def sqlite_steps(sql):
    """How many hundreds of SQLite virtual machine instructions ``sql`` takes: the rows it reads."""
    steps = 0

    def count():
        nonlocal steps
        steps += 1
        return 0

    connection.connection.set_progress_handler(count, 1)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql).fetchall()
    finally:
        connection.connection.set_progress_handler(None, 1)
    return steps


def html_of(response):
    return response.content.decode()


@pytest.fixture
def hidden_articles(imported_corpus):
    """A draft and a scheduled (future) article in the corpus's busiest category, tag and stock."""
    seed = Article.objects.get(info_code="NW202201072239950893")
    stock = seed.stocks.first()
    draft = make_article(category=seed.category, title="草稿不应出现", status=Article.Status.DRAFT, tags=["财联社新闻"])
    future = make_article(
        category=seed.category,
        title="定时稿件不应出现",
        published_at=timezone.now() + dt.timedelta(days=1),
        tags=["财联社新闻"],
        stocks=[stock],
    )
    draft.stocks.set([stock])
    return draft, future


def assert_hidden_absent(content):
    assert "草稿不应出现" not in content and "定时稿件不应出现" not in content


class TestArticlePage:
    def test_shows_what_a_reader_looks_for(self, client, imported_corpus):
        response = page(client, SEED_URL, follow=True)
        content = html_of(response)

        assert "“太保服务”质量行业认可 中国太保以优质服务构建差异化竞争能力" in content
        meta = BeautifulSoup(content, "lxml").select_one(".article .meta")
        assert meta.get_text(" ", strip=True).startswith("北京时间 2022-01-07 12:35 · 来源：财联社")
        assert meta.time["datetime"] == "2022-01-07T12:35:20+08:00"
        assert 'href="/category/cailianshe/"' in content
        assert 'href="/tag/cai-lian-she-xin-wen/"' in content
        assert "来源：财联社" in content
        assert 'href="/stock/sh/601601/"' in content and 'href="/stock/hk/02601/"' in content
        assert "https://quote.eastmoney.com/unify/r/1.601601" in content
        assert "备受关注的2021年上半年保险服务质量指数" in content

    def test_seo_metadata(self, client, imported_corpus):
        content = html_of(page(client, SEED_URL, follow=True))

        canonical = re.search(r'<link rel="canonical" href="([^"]+)"', content)[1]
        assert canonical.startswith("http://testserver/news/NW202201072239950893/")
        assert '<meta property="og:title" content="“太保服务”质量行业认可' in content
        description = re.search(r'<meta name="description" content="([^"]*)"', content)[1]
        assert description.startswith("备受关注的2021年上半年") and "<" not in description
        ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', content, re.S)[1])
        assert ld["@type"] == "NewsArticle" and ld["datePublished"].startswith("2022-01-07T12:35:20+08:00")

    def test_wrong_or_missing_slug_redirects_permanently_to_the_canonical_url(self, client, imported_corpus):
        article = Article.objects.get(info_code="NW202201072239950893")

        for url in (SEED_URL, f"{SEED_URL}wrong-slug/"):
            response = page(client, url, status=301)
            assert response["Location"] == article.get_absolute_url()

    def test_previous_next_and_related(self, client, db):
        category, stock = make_category("ceshi"), make_stock("600999")
        older = make_article(category=category, title="较早一篇", published_at=timezone.now() - dt.timedelta(days=3))
        current = make_article(category=category, title="当前文章", stocks=[stock])
        newer = make_article(category=category, title="较新一篇", published_at=timezone.now() - dt.timedelta(minutes=1))
        related = make_article(title="同股票的文章", stocks=[stock], published_at=timezone.now() - dt.timedelta(days=2))
        long_ago = make_article(title="很久以前", stocks=[stock], published_at=timezone.now() - dt.timedelta(days=30))
        current.published_at = timezone.now() - dt.timedelta(days=1)
        current.save()

        content = html_of(page(client, current.get_absolute_url()))

        assert f'href="{older.get_absolute_url()}" rel="prev"' in content
        assert f'href="{newer.get_absolute_url()}" rel="next"' in content
        assert related.get_absolute_url() in content
        assert long_ago.get_absolute_url() not in content, "related news is drawn from the days around the article"

    def test_drafts_and_scheduled_articles_are_not_found(self, client, hidden_articles):
        for article in hidden_articles:
            page(client, article.get_absolute_url(), status=404)
            # A reader's ?preview= is sent to the page readers get (and stores nothing).
            assert client.get(f"{article.get_absolute_url()}?preview=1", follow=True).status_code == 404

    def test_staff_can_preview_a_draft(self, client, hidden_articles):
        draft, _ = hidden_articles
        client.force_login(make_editor())

        content = html_of(page(client, f"{draft.get_absolute_url()}?preview=1"))

        assert "草稿不应出现" in content and "预览" in content and 'content="noindex"' in content

    def test_staff_without_the_view_permission_cannot_preview(self, client, hidden_articles):
        draft, scheduled = hidden_articles
        client.force_login(User.objects.create_user("nobody", password="x", is_staff=True))

        for article in (draft, scheduled):
            assert client.get(f"{article.get_absolute_url()}?preview=1").status_code == 404

    def test_query_count_is_constant_whatever_the_tags_and_stocks(
        self, db, django_assert_num_queries, django_capture_on_commit_callbacks, client, settings
    ):
        category = make_category()
        plain = make_article(category=category, tags=["一"], stocks=[make_stock("600000")])
        many_tags = [f"标签{n}" for n in range(15)]
        many_stocks = [make_stock(f"6000{n:02d}") for n in range(1, 16)]
        busy = make_article(category=category, tags=many_tags, stocks=many_stocks)
        for _ in range(3):
            make_article(category=category, tags=many_tags[:2], stocks=many_stocks[:2])

        client.get("/robots.txt")
        settings.PAGE_CACHE_SECONDS = 0  # every request renders the page
        # The side column's 热门股票 and latest of the category are read once per content version
        # and hour (site/aside.py).
        page(client, make_article(category=category).get_absolute_url())
        for article in (plain, busy):
            # The article, its tags, stocks, the categories its story also appears in, its
            # neighbours and related news, once per content version; its stocks' news flow (the
            # side column), once per content version and hour.
            with django_assert_num_queries(8):
                first = html_of(page(client, article.get_absolute_url()))
            with django_assert_num_queries(0):
                again = html_of(page(client, article.get_absolute_url()))
            assert again == first and article.title in again
        assert all(f'rel="tag">{tag}</a>' in first for tag in many_tags) and 'rel="prev"' in first

        # A save moves the version on: the next request reads the article as saved.
        busy.title = "改过的标题"
        with django_capture_on_commit_callbacks(execute=True):
            publishing.save_article(busy)
        assert "改过的标题" in html_of(page(client, busy.get_absolute_url()))

    def test_script_from_content_never_reaches_the_page(self, client, write_post):
        body = '<p>正文<script>alert(1)</script><img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">x</a></p>'
        from tests.conftest import post_text, run_import

        run_import(write_post("2022-01-07-XSS1.md", post_text(title='"<script>alert(4)</script>标题"', body=body)))
        content = html_of(page(client, "/news/XSS1/", follow=True))

        assert "alert(1)" not in content and "onerror" not in content and "javascript:" not in content
        # A title is text: shown as written, escaped, never run.
        assert "<script>alert(4)" not in content and "&lt;script&gt;alert(4)&lt;/script&gt;标题" in content

    def test_conditional_get(self, client, imported_corpus):
        article = Article.objects.get(info_code="NW202201072239950893")
        response = page(client, article.get_absolute_url())

        page(client, article.get_absolute_url(), status=304, HTTP_IF_NONE_MATCH=response["ETag"])
        page(client, article.get_absolute_url(), status=304, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])


def cover_upload(size=(800, 450)):
    output = io.BytesIO()
    Image.new("RGB", size, "teal").save(output, format="PNG")
    return SimpleUploadedFile("cover.png", output.getvalue(), content_type="image/png")


class TestListCovers:
    """A list's 96×64 CSS px cover slot gets a 192×128 rendition (2× screens), not the 480 px thumbnail."""

    @pytest.fixture(autouse=True)
    def media_root(self, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path / "media"

    @pytest.fixture
    def covered(self):
        stock = make_stock("601601", name="中国太保")
        return make_article(
            make_category("cailianshe", title="财联社"), tags=["宏观"], stocks=[stock], cover_image=cover_upload()
        )

    def test_every_list_offers_the_rendition_by_its_width_at_no_extra_query(
        self, reader, covered, django_assert_num_queries
    ):
        article = Article.objects.get(pk=covered.pk)
        small, thumbnail = article.cover_list_image.url, article.cover_thumbnail.url
        with django_assert_num_queries(3):  # as TestListPages.test_category_page
            pages = {"category": html_of(page(reader, "/category/cailianshe/"))}
        lists = {"home": "/", "tag": "/tag/hong-guan/", "stock": article.stocks.get().get_absolute_url()}
        pages.update((name, html_of(page(reader, url))) for name, url in lists.items())

        for name, html in pages.items():
            image = BeautifulSoup(html, "lxml").select_one("img.item-cover")
            assert image["srcset"] == f"{small} 192w, {thumbnail} 480w", name
            assert (image["sizes"], image["width"], image["height"], image["src"]) == ("96px", "96", "64", thumbnail), (
                name
            )

    def test_the_rendition_is_served_at_the_slot_s_proportions_and_the_article_keeps_its_cover(self, reader, covered):
        article = Article.objects.get(pk=covered.pk)

        response = reader.get(article.cover_list_image.url)

        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(b"".join(response.streaming_content))) as image:
            assert (image.format, image.size) == ("JPEG", (192, 128))
        cover = BeautifulSoup(html_of(page(reader, article.get_absolute_url())), "lxml").select_one("img.cover")
        assert cover["src"] == article.cover_image.url and not cover.has_attr("srcset")

    def test_migration_0025_makes_it_for_stored_covers_and_logs_a_cover_it_cannot_read(self, covered, caplog):
        from django.apps import apps
        from django.db.migrations.loader import MigrationLoader

        from articles import images

        migration = MigrationLoader(None).disk_migrations[("articles", "0025_list_covers_for_stored_covers")]
        module = __import__(type(migration).__module__, fromlist=["make_list_covers"])
        assert module.SIZE == images.LIST_COVER_SIZE  # frozen as images.make_list_cover's is today
        lost = make_article(cover_image=cover_upload())
        Path(lost.cover_image.path).unlink()  # a database restored without its media
        Article.objects.update(cover_list_image="")
        before = dict(Article.objects.values_list("pk", "updated_at"))

        module.make_list_covers(apps, None)

        made = Article.objects.get(pk=covered.pk).cover_list_image
        with Image.open(made.path) as image:
            assert image.size == (192, 128)
        assert Article.objects.get(pk=lost.pk).cover_list_image == ""
        assert dict(Article.objects.values_list("pk", "updated_at")) == before
        assert [record.getMessage() for record in caplog.records] == [
            f"0025: article {lost.pk}'s cover {lost.cover_image.name} not read "
            f"([Errno 2] No such file or directory: '{lost.cover_image.path}'); listed from its thumbnail"
        ]

    def test_migration_0025_makes_them_outside_the_transaction_of_0023_s_schema_change(self):
        """On PostgreSQL, 0023's ALTER TABLE locks the articles' table until its migration commits:
        readers of the release still serving waited on every cover made in that transaction."""
        from django.db.migrations.loader import MigrationLoader
        from django.db.migrations.operations import RunPython

        migrations = MigrationLoader(None).disk_migrations
        schema_change = migrations[("articles", "0023_cover_list_image")]
        covers = migrations[("articles", "0025_list_covers_for_stored_covers")]

        assert not any(isinstance(operation, RunPython) for operation in schema_change.operations)
        assert covers.atomic is False and all(isinstance(operation, RunPython) for operation in covers.operations)

    @pytest.mark.django_db(transaction=True)  # SQLite's schema editor works outside a transaction
    def test_migration_0026_adds_its_column_without_copying_the_articles_table(self):
        """Django's AddField of a NOT NULL column copies the whole table on SQLite, holding every
        write of the release still serving (its editors', its import's) until the copy ends."""
        import io

        from django.core.management import call_command

        output = io.StringIO()
        call_command("sqlmigrate", "articles", "0026", stdout=output)
        statements = [line for line in output.getvalue().splitlines() if line and not line.startswith("--")]

        assert (
            "ALTER TABLE articles_article ADD COLUMN cover_list_source varchar(100) DEFAULT '' NOT NULL;" in statements
        )
        assert not any(statement.startswith(("CREATE TABLE", "INSERT", "DROP TABLE")) for statement in statements)

    def test_migration_0025_leaves_a_cover_replaced_while_it_ran(self, covered, monkeypatch):
        from django.apps import apps
        from django.db.migrations.loader import MigrationLoader

        migration = MigrationLoader(None).disk_migrations[("articles", "0025_list_covers_for_stored_covers")]
        module = __import__(type(migration).__module__, fromlist=["make_list_covers"])
        Article.objects.update(cover_list_image="")
        read = module._list_cover

        def read_then_replaced(file):
            # The release still serving replaces the cover (it knows nothing of the rendition).
            Article.objects.filter(pk=covered.pk).update(cover_image="covers/2026/12/another.png")
            return read(file)

        monkeypatch.setattr(module, "_list_cover", read_then_replaced)
        module.make_list_covers(apps, None)

        assert Article.objects.get(pk=covered.pk).cover_list_image == ""

    def test_the_release_before_0023_still_adds_articles(self, covered):
        """It serves and imports between migrate and the restart (and again after going back to
        it), and inserts an article without naming the column it knows nothing of."""
        names = {field.column: field for field in Article._meta.concrete_fields}
        columns = [column for column in names if column not in ("id", "cover_list_image", "cover_list_source")]
        written = {"info_code": "NW202611300000009999", "slug": "jiu-ban-ben-dao-ru"}
        selected = ", ".join("%s" if column in written else connection.ops.quote_name(column) for column in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO articles_article ({', '.join(map(connection.ops.quote_name, columns))}) "
                f"SELECT {selected} FROM articles_article WHERE id = %s",
                [*(written[column] for column in columns if column in written), covered.pk],
            )

        added = Article.objects.get(info_code="NW202611300000009999")
        assert (added.cover_list_image, added.cover_list_source) == ("", "")

    def test_check_content_remakes_the_rendition_of_a_cover_the_release_before_0023_replaced(self, covered):
        """That release stores a new cover (under the same file name, as phones name photos) and its
        thumbnail, and knows nothing of the rendition: lists showed the former picture."""
        from io import StringIO

        from django.core.management import CommandError, call_command

        call_command("check_content", stdout=(sound := StringIO()))
        assert "Every list cover is made from its article's cover." in sound.getvalue()
        before = Article.objects.get(pk=covered.pk)
        field = Article._meta.get_field("cover_image")
        output = io.BytesIO()
        Image.new("RGB", (800, 450), "red").save(output, format="PNG")
        replaced = field.storage.save(field.generate_filename(before, "cover.png"), io.BytesIO(output.getvalue()))
        Article.objects.filter(pk=covered.pk).update(cover_image=replaced)

        with pytest.raises(CommandError, match="1 row needs"):
            call_command("check_content", stdout=StringIO(), stderr=(listed := StringIO()))
        assert (
            f"文章 {covered.pk}: the list cover {before.cover_list_image.name} is made from "
            f"{before.cover_image.name!r}, not from the cover {replaced!r}; --remake-list-covers makes it again"
        ) in listed.getvalue()
        call_command("check_content", "--remake-list-covers", stdout=(remade := StringIO()))

        after = Article.objects.get(pk=covered.pk)
        assert f": now {after.cover_list_image.name}" in remade.getvalue()
        with Image.open(after.cover_list_image.path) as rendition:
            assert rendition.size == (192, 128) and rendition.convert("RGB").getpixel((96, 64))[0] > 200  # red
        assert (after.cover_list_source, after.updated_at) == (replaced, before.updated_at)
        call_command("check_content", stdout=StringIO())

    @pytest.mark.parametrize(
        ("stored", "listed"),
        [
            ({"cover_list_image": ""}, "the cover {cover} has no list cover"),
            ({"cover_list_source": ""}, "the list cover {rendition} is made from a cover not recorded"),
            ({"cover_image": "", "cover_thumbnail": ""}, "the list cover {rendition} is left from a removed cover"),
        ],
    )
    def test_check_content_remakes_a_rendition_missing_or_not_known_to_be_the_cover_s(self, covered, stored, listed):
        from io import StringIO

        from django.core.management import CommandError, call_command

        before = Article.objects.get(pk=covered.pk)
        Article.objects.filter(pk=covered.pk).update(**stored)
        with pytest.raises(CommandError, match="1 row needs"):
            call_command("check_content", stdout=StringIO(), stderr=(err := StringIO()))
        assert listed.format(cover=before.cover_image.name, rendition=before.cover_list_image.name) in err.getvalue()

        call_command("check_content", "--remake-list-covers", stdout=StringIO())

        after = Article.objects.get(pk=covered.pk)
        assert after.cover_list_source == after.cover_image.name
        assert bool(after.cover_list_image) == bool(after.cover_image)
        call_command("check_content", stdout=StringIO())

    def test_check_content_lists_a_rendition_it_cannot_remake(self, covered):
        from io import StringIO

        from django.core.management import CommandError, call_command

        article = Article.objects.get(pk=covered.pk)
        Article.objects.filter(pk=covered.pk).update(cover_list_source="")
        Path(article.cover_image.path).unlink()  # a database restored without its media

        with pytest.raises(CommandError, match="1 row needs"):
            call_command("check_content", "--remake-list-covers", stdout=StringIO(), stderr=(err := StringIO()))
        assert f"文章 {covered.pk}: the list cover" in err.getvalue() and "its cover was not read" in err.getvalue()

    def test_a_cover_stored_before_the_rendition_is_listed_from_its_thumbnail(self, reader, covered):
        Article.objects.filter(pk=covered.pk).update(cover_list_image="")  # as before migration 0025

        image = BeautifulSoup(html_of(page(reader, "/category/cailianshe/")), "lxml").select_one("img.item-cover")

        assert image["src"] == Article.objects.get(pk=covered.pk).cover_thumbnail.url and not image.has_attr("srcset")


class TestListPages:
    def test_home(self, hidden_articles, django_assert_num_queries, reader):
        # The pins, the highest key (live_url), and 热门股票, once per content version: 3.
        with django_assert_num_queries(8):
            content = html_of(page(reader, "/"))

        assert "最新消息" in content
        assert "消费电子股大爆发" in content
        assert 'href="/category/cailianshe/"' in content and 'href="/category/emnews/"' in content
        assert_hidden_absent(content)

    def test_category_page(self, hidden_articles, django_assert_num_queries, reader):
        with django_assert_num_queries(3):
            content = html_of(page(reader, "/category/cailianshe/"))

        assert "“太保服务”质量行业认可" in content
        assert (
            '<link rel="alternate" type="application/atom+xml" title="财联社 · 订阅" href="/category/cailianshe/feed/">'
            in content
        )
        assert_hidden_absent(content)

    def test_feeds_are_offered_as_rss_subscriptions(self, reader):
        # Chinese readers know a feed as RSS 订阅: "订阅（Atom）" named a format few recognise.
        category = make_category()
        make_article(category=category)

        listed = BeautifulSoup(html_of(page(reader, category.get_absolute_url())), "lxml")

        links = [(link.get_text(), link["href"]) for link in listed.select("a[href$='feed/'], a[href$='feed.xml']")]
        assert links == [("RSS 订阅", f"{category.get_absolute_url()}feed/"), ("RSS 订阅", "/feed.xml")]
        footer = BeautifulSoup(html_of(page(reader, "/")), "lxml").select_one(".site-footer").get_text(" ", strip=True)
        assert footer == "金融消息 · 时间均为北京时间（GMT+8） · RSS 订阅"

    def test_tag_page(self, hidden_articles, django_assert_num_queries, reader):
        # Whether it is sparse (the last article's key, once per content version, and an index probe
        # into its mentions), the count, its page and its news flow over the days it lists.
        with django_assert_num_queries(6):
            content = html_of(page(reader, "/tag/cai-lian-she-xin-wen/"))

        assert "“太保服务”质量行业认可" in content and "/tag/cai-lian-she-xin-wen/feed/" in content
        assert_hidden_absent(content)

    def test_stock_page(self, hidden_articles, django_assert_num_queries, reader):
        # The stock, the count and its page (read in order from its StockListing rows), and its
        # news flow over the days it lists and the stocks mentioned with it (2), once per content version.
        with django_assert_num_queries(6):
            content = html_of(page(reader, "/stock/sh/601601/"))

        assert "601601" in content and "上海" in content and "“太保服务”质量行业认可" in content
        assert "https://quote.eastmoney.com/unify/r/1.601601" in content
        # The list says what it is, below the chart and the stocks mentioned with it.
        assert re.search(r'<h2 class="list-heading">提到[^<]*的消息</h2>\s*<ul class="article-list">', content)
        assert_hidden_absent(content)

    def test_few_or_many_articles_list_alike(self, hidden_articles, client, monkeypatch):
        from django.core.cache import cache

        url = "/tag/cai-lian-she-xin-wen/"
        few = re.findall(r'href="(/news/[^"]+)"', html_of(page(client, url)))
        cache.clear()
        monkeypatch.setattr("articles.site.views.SPARSE_TAG", 0)  # every tag read down the date index
        many = re.findall(r'href="(/news/[^"]+)"', html_of(page(client, url)))

        assert few == many and few

    def test_only_a_sparse_tag_is_read_by_its_articles_keys(self, db, client, monkeypatch):
        """A tag on 25 of 30 articles is read down the date index (its first page is there at
        once); one on 3 by its articles' keys (the index would be read to its end): 3 < sqrt(6 × 30)
        < 25. Feeds alike."""
        # All articles as the rule counts them, the last key: on PostgreSQL, ids go on from other tests'.
        monkeypatch.setattr("articles.site.views.highest_key", lambda: 30)
        category = make_category()
        for number in range(30):
            make_article(
                category=category, tags=(["常见"] if number < 25 else []) + (["少见"] if number % 10 == 0 else [])
            )

        for url, by_keys in (("/tag/chang-jian/", False), ("/tag/shao-jian/", True)):
            for address in (url, f"{url}feed/"):
                with CaptureQueriesContext(connection) as queries:
                    assert client.get(address).status_code == 200
                listing = next(
                    query["sql"] for query in queries if "ORDER BY" in query["sql"] and "LIMIT" in query["sql"]
                )
                assert ("IN (SELECT" in listing) == by_keys, (address, listing)

    def test_stock_pages_list_its_public_stories_newest_first(self, db, client, monkeypatch):
        """Read from its StockListing rows, a stock's pages (deep ones from a kept anchor) and feed
        list what its mentions say: public ones, each story once, newest first, ties by id."""
        monkeypatch.setattr("articles.site.pagination.ANCHOR_PAGES", 1)
        monkeypatch.setattr("articles.site.pagination.DIRECT_ROWS", 0)
        stock, other = make_stock("600519"), make_stock("000001", market="sz")
        start = dt.datetime(2017, 4, 3, tzinfo=dt.UTC)
        for number in range(45):
            # Pairs at one time (ties), and one in five mentioning another stock only.
            make_article(
                published_at=start + dt.timedelta(hours=number // 2), stocks=[other if number % 5 == 4 else stock]
            )
        make_article(published_at=start, stocks=[stock], status=Article.Status.DRAFT)
        make_article(published_at=timezone.now() + dt.timedelta(days=1), stocks=[stock])
        lead = Article.objects.filter(stocks=stock).order_by("published_at", "id").first()
        make_article(published_at=start, stocks=[stock], story=lead)  # a copy of a story it is listed by
        expected = [
            article.get_absolute_url()
            for article in Article.objects.listed().once_per_story(stocks=stock).order_by("-published_at", "-id")
        ]
        assert 20 < len(expected) <= 40  # two pages

        pages = [html_of(page(client, url)) for url in ("/stock/sh/600519/", "/stock/sh/600519/?page=2")]
        listed = list(dict.fromkeys(re.findall(r'href="(/news/[^"]+)"', "".join(pages))))
        feed = page(client, "/stock/sh/600519/feed/").content.decode()
        feed = list(dict.fromkeys(re.findall(r'href="http://testserver(/news/[^"]+)"', feed)))
        assert listed == expected
        assert feed == expected[:20]

    def test_category_index(self, hidden_articles, django_assert_num_queries, reader):
        with django_assert_num_queries(2):
            content = html_of(page(reader, "/category/"))
        assert "财联社" in content and "东财滚动" in content

    @pytest.mark.parametrize(
        ("url", "expected_title"),
        [
            ("/archive/2022/", "消费电子股大爆发"),
            ("/archive/2022/1/", "“太保服务”质量行业认可"),
            ("/archive/2022/1/7/", "“太保服务”质量行业认可"),
            ("/archive/2021/12/8/", "无期徒刑！这家A股公司原实控人的百亿诈骗案判了"),
        ],
    )
    def test_date_archives(self, hidden_articles, django_assert_max_num_queries, reader, url, expected_title):
        # A year's page also lists its months, found once per content version: its first and last
        # days with news, and a probe for each month between (twelve at most); a month's page its
        # days (31 at most).
        most = 6 + {3: 2 + 12, 4: 2 + 31}.get(url.count("/"), 0)
        with django_assert_max_num_queries(most):
            content = html_of(page(reader, url))
        assert expected_title in content
        assert_hidden_absent(content)

    def test_archive_index_lists_the_months_with_news(self, reader, db, django_assert_num_queries):
        # Older than any other test's articles. A gap (February), a Beijing month that is still the
        # previous one in UTC (31 Mar 17:00 UTC is 1 April in Beijing) and a draft's month (May) are not listed.
        for title, moment in [
            ("一月", dt.datetime(2019, 1, 5, 2, tzinfo=dt.UTC)),
            ("四月", dt.datetime(2019, 3, 31, 17, tzinfo=dt.UTC)),
            ("六月", dt.datetime(2019, 6, 1, 3, tzinfo=dt.UTC)),
        ]:
            make_article(title=title, published_at=moment)
        make_article(title="草稿", published_at=dt.datetime(2019, 5, 2, tzinfo=dt.UTC), status=Article.Status.DRAFT)
        make_article(title="将来", published_at=timezone.now() + dt.timedelta(days=400))
        for _ in range(20):  # a second page
            make_article(published_at=dt.datetime(2019, 1, 6, tzinfo=dt.UTC))
        reader.get("/robots.txt")
        public = Article.objects.published().stories()
        first, last = (
            timezone.localdate(public.order_by(order)[0].published_at) for order in ("published_at", "-published_at")
        )
        spanned = (last.year - first.year) * 12 + last.month - first.month + 1

        # The first and last dates, one probe per month they span, the count and the page's articles.
        with django_assert_num_queries(2 + spanned + 2):
            content = html_of(page(reader, "/archive/"))
        with django_assert_num_queries(1):  # the months and the count are kept for the content version
            second = html_of(page(reader, "/archive/?page=2"))

        # The years with news, and the months of the newest: however long the archive, a bounded list.
        years = re.findall(r'href="/archive/(\d+)/">(\S+)</a>', content)
        assert years[-1] == ("2019", "2019年") and [year for year, _ in years] == sorted(
            {y for y, _ in years}, reverse=True
        )
        newest = re.findall(r'href="/archive/(\d+)/(\d+)/"', content)
        assert newest and {year for year, _ in newest} == {years[0][0]}
        assert re.findall(r'href="/archive/([\d/]+)/"', content) == re.findall(r'href="/archive/([\d/]+)/"', second)

        # A year's page lists its own months; a second page of it reads them kept.
        # Its months: the first and last days, a probe for each of the six months between; the
        # page's own five (as before it listed months).
        with django_assert_num_queries(2 + 6 + 5):
            year = html_of(page(reader, "/archive/2019/"))
        months = re.findall(r'href="/archive/(\d+/\d+)/">(\S+)</a>', year)
        assert months == [("2019/6", "2019年6月"), ("2019/4", "2019年4月"), ("2019/1", "2019年1月")]
        with django_assert_num_queries(4):  # months and count kept: the page's other four
            assert months == re.findall(
                r'href="/archive/(\d+/\d+)/">(\S+)</a>', html_of(page(reader, "/archive/2019/?page=2"))
            )

    def test_a_months_page_links_to_its_days_with_news(self, reader, db, settings, django_assert_num_queries):
        settings.PAGE_CACHE_SECONDS = 0  # the second look renders again
        # July 2016, a month no other test has news in: 30 June 17:00 UTC is 1 July in Beijing, and
        # 31 July 17:00 UTC is already August; a draft's day (20 July) is not listed.
        for moment in [
            dt.datetime(2016, 6, 30, 17, tzinfo=dt.UTC),
            dt.datetime(2016, 7, 3, 2, tzinfo=dt.UTC),
            dt.datetime(2016, 7, 3, 9, tzinfo=dt.UTC),
            dt.datetime(2016, 7, 15, 4, tzinfo=dt.UTC),
            dt.datetime(2016, 7, 31, 17, tzinfo=dt.UTC),
        ]:
            make_article(published_at=moment)
        make_article(published_at=dt.datetime(2016, 7, 20, tzinfo=dt.UTC), status=Article.Status.DRAFT)
        reader.get("/robots.txt")

        # The month's own page (its check, neighbours, count and articles: 5), then its days: its
        # first and last days with news, a probe for each of the fifteen days they span.
        with django_assert_num_queries(5 + 2 + 15):
            content = html_of(page(reader, "/archive/2016/7/"))
        days = BeautifulSoup(content, "lxml").select(".day-list a")
        # Newest first, each carrying its year: a 2016 page leads to 2016's days.
        assert [(link["href"], link.text) for link in days] == [
            ("/archive/2016/7/15/", "7月15日"),
            ("/archive/2016/7/3/", "7月3日"),
            ("/archive/2016/7/1/", "7月1日"),
        ]
        for link in days:
            page(reader, link["href"])
        # Kept for the content version, as the count is: a second look reads the month's page alone.
        with django_assert_num_queries(4):
            page(reader, "/archive/2016/7/")

    def test_deep_archive_pages_keep_their_count_and_anchor(self, reader, db, django_assert_num_queries, monkeypatch):
        monkeypatch.setattr("articles.site.pagination.ANCHOR_PAGES", 2)
        monkeypatch.setattr("articles.site.pagination.DIRECT_ROWS", 20)
        start = dt.datetime(2018, 3, 5, tzinfo=dt.UTC)  # a month no other test has news in
        for number in range(95):
            make_article(title=f"第{number}篇", published_at=start + dt.timedelta(hours=number // 2))
        reader.get("/robots.txt")

        pages = [html_of(page(reader, "/archive/2018/3/"))]
        # Each page checks that its month has news and names the months before and after (3
        # queries). Page 2 starts 20 rows from the newest: its first row is found (the anchor),
        # then its rows read from it; the count is kept from page 1.
        with django_assert_num_queries(3 + 2):
            pages.append(html_of(page(reader, "/archive/2018/3/?page=2")))
        # Past the middle, pages are read from the oldest end: page 3 starts 35 rows from it (an
        # anchor), pages 4 and 5 within 20 rows of it (an OFFSET).
        with django_assert_num_queries(3 + 2):
            pages.append(html_of(page(reader, "/archive/2018/3/?page=3")))
        for number in (4, 5):
            with django_assert_num_queries(3 + 1):
                pages.append(html_of(page(reader, f"/archive/2018/3/?page={number}")))

        titles = [re.findall(r">(第\d+篇)<", content) for content in pages]
        assert [len(found) for found in titles] == [20, 20, 20, 20, 15]
        assert sum(titles, []) == [f"第{number}篇" for number in sorted(range(95), key=lambda n: (-(n // 2), -n))]

    @pytest.mark.parametrize(("anchor_pages", "direct_rows"), [(2, 20), (50, 100)])
    def test_every_page_of_all_articles_lists_its_own(
        self, reader, db, monkeypatch, settings, anchor_pages, direct_rows, django_assert_num_queries
    ):
        """/archive/?page=N lists the Nth twenty stories, newest first, from whichever end and
        anchor it is read: the same as an OFFSET, before and after its anchors are kept."""
        monkeypatch.setattr("articles.site.pagination.ANCHOR_PAGES", anchor_pages)
        monkeypatch.setattr("articles.site.pagination.DIRECT_ROWS", direct_rows)
        settings.PAGE_CACHE_SECONDS = 0
        start = dt.datetime(2017, 1, 5, tzinfo=dt.UTC)
        # Three to an hour (ties the order breaks by id), one a copy of another story (not listed),
        # one a draft, one not yet due.
        articles = [
            make_article(info_code=f"P{number:04d}", published_at=start + dt.timedelta(hours=number // 3))
            for number in range(247)
        ]
        make_article(info_code="PCOPY", published_at=start, story=articles[5])
        make_article(info_code="PDRAFT", published_at=start, status=Article.Status.DRAFT)
        make_article(info_code="PSOON", published_at=timezone.now() + dt.timedelta(days=1))
        codes = list(
            Article.objects.published().stories().order_by("-published_at", "-id").values_list("info_code", flat=True)
        )
        assert len(codes) >= 247 and "PCOPY" not in codes
        expected = [codes[bottom : bottom + 20] for bottom in range(0, len(codes), 20)]
        reader.get("/robots.txt")

        def listed(number):
            content = html_of(page(reader, f"/archive/?page={number}" if number > 1 else "/archive/"))
            return [
                link["href"].split("/")[2]
                for link in BeautifulSoup(content, "lxml").select("main li a[href^='/news/']")
            ]

        last = len(expected)
        assert [listed(number) for number in range(1, last + 1)] == expected
        again = (last, last // 2, last - 1, 2, 6)
        assert [listed(number) for number in again] == [expected[n - 1] for n in again]
        for number in again:
            with django_assert_num_queries(1):  # months, count and anchors kept: the page's rows alone
                listed(number)

    def test_archive_day_is_a_shanghai_day(self, client, db):
        make_article(title="北京时间凌晨的消息", published_at=dt.datetime(2022, 3, 1, 17, 30, tzinfo=dt.UTC))
        assert "北京时间凌晨的消息" in html_of(page(client, "/archive/2022/3/2/"))
        page(client, "/archive/2022/3/1/", status=404)

    def test_pagination(self, client, db, django_assert_num_queries):
        category = make_category("busy")
        for _ in range(45):
            make_article(category=category)
        client.get("/robots.txt")

        with django_assert_num_queries(3):
            first = html_of(page(client, "/category/busy/"))
        with django_assert_num_queries(2):  # the count is kept for the content version
            third = html_of(page(client, "/category/busy/?page=3"))

        assert first.count('class="article-item"') == 20 and third.count('class="article-item"') == 5
        assert 'href="?page=2" rel="next"' in first and 'aria-current="page">3<' in third
        for bad in ("?page=4", "?page=abc", "?page=99999999999999999999", "?page=-1"):
            page(client, f"/category/busy/{bad}", status=404)

    @pytest.mark.parametrize("as_editor", [False, True], ids=["reader", "editor"])
    def test_every_list_answers_a_page_number_alike(self, client, db, as_editor):
        """A page the list has is a 200; page 1 a 301 to the address without it (for readers, whose
        pages are kept); anything else a 404 that links to the list's first page, never a 500 nor
        Django's page "last". Editors, who pass by the page cache, get the same answers."""
        category = make_category("paged")
        for number in range(45):
            make_article(
                category=category,
                title=f"降准{number}",
                published_at=dt.datetime(2015, 3, 5, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=number),
            )
        if as_editor:
            client.force_login(make_editor())
        client.get("/robots.txt")
        lists = ["/category/paged/", "/archive/", "/archive/2015/", "/archive/2015/3/", "/archive/2015/3/5/"]
        search = "/search/?q=%E9%99%8D%E5%87%86"  # 降准: its words stay on its first page
        for url in [*lists, search]:
            joined = "&" if "?" in url else "?"
            assert 'class="article-item"' in html_of(page(client, f"{url}{joined}page=2"))
            for bad in ("abc", "0", "-1", "1.5", "last", "", "99999", "99999999999999999999"):
                content = html_of(page(client, f"{url}{joined}page={bad}", status=404))
                assert f'请从<a href="{url}">第一页</a>' in content, f"{url} page={bad}"
        for url in lists if not as_editor else ():
            assert page(client, f"{url}?page=1", status=301)["Location"] == url
        if not as_editor:  # the home page has no pages: a number leads to it, a non-number nowhere
            assert page(client, "/?page=2", status=301)["Location"] == "/"
            assert '请从<a href="/">第一页</a>' in html_of(page(client, "/?page=abc", status=404))
        # Not a list: any other missing page's 404 says so, without a first page.
        content = html_of(page(client, "/category/nope/?page=2", status=404))
        assert "此页面不存在" in content and "第一页" not in content

    def test_unknown_slugs_are_404_in_chinese(self, client, db):
        for url in ("/category/nope/", "/tag/nope/", "/stock/sh/999999/", "/news/NOPE/", "/archive/1999/"):
            assert "找不到页面" in html_of(page(client, url, status=404))


class TestFeedsAndSitemap:
    def test_site_feed_at_the_old_url(self, client, hidden_articles):
        response = page(client, "/feed.xml")
        content = html_of(response)

        assert response["Content-Type"].startswith("application/atom+xml")
        assert "<feed" in content and "消费电子股大爆发" in content
        assert response["Last-Modified"]
        assert_hidden_absent(content)

    @pytest.mark.parametrize(
        "url", ["/category/cailianshe/feed/", "/tag/cai-lian-she-xin-wen/feed/", "/stock/sh/601601/feed/"]
    )
    def test_topic_feeds(self, client, hidden_articles, url):
        content = html_of(page(client, url))
        assert "“太保服务”质量行业认可" in content
        assert_hidden_absent(content)

    def test_control_characters_written_by_sql_are_left_out_of_feeds_not_a_500(self, client, db, caplog):
        category = make_category("kuaixun", title="快讯")
        make_article(info_code="CTRL1", title="降准", category=category, tags=["宏观"], summary="摘要")
        # Validation refuses them; a row written by SQL (or before the rule) may still hold them.
        Article.objects.filter(info_code="CTRL1").update(title="降\x0b准", summary="摘\x08要\ufffe")
        Category.objects.filter(pk=category.pk).update(title="快\x0c讯")

        for url in ("/feed.xml", "/category/kuaixun/feed/", "/tag/hong-guan/feed/"):
            content = page(client, url).content.decode()
            ElementTree.fromstring(content)  # well-formed XML 1.0
            assert "降准" in content and "摘要" in content and "快讯" in content
        assert "control characters in the item" in caplog.text

    def test_feeds_name_their_authors_and_keep_beijing_time(self, client, db):
        published_at = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)
        make_article(info_code="SRC1", title="有来源", source_name="财联社", published_at=published_at)
        make_article(info_code="SRC2", title="无来源", source_name="", published_at=published_at)
        feed = ElementTree.fromstring(page(client, "/feed.xml").content)
        atom = {"a": "http://www.w3.org/2005/Atom"}

        assert feed.findtext("a:author/a:name", namespaces=atom) == "金融消息"  # RFC 4287 asks for one
        entries = {entry.findtext("a:title", namespaces=atom): entry for entry in feed.findall("a:entry", atom)}
        assert entries["有来源"].findtext("a:author/a:name", namespaces=atom) == "财联社"
        assert entries["无来源"].find("a:author", atom) is None
        assert entries["有来源"].findtext("a:published", namespaces=atom) == "2026-11-26T17:30:00+08:00"

    def test_an_entry_is_updated_when_what_it_says_changed_as_its_page_says(
        self, client, db, django_capture_on_commit_callbacks
    ):
        # Imported today, unchanged since 2022: a feed reader showed old news dated today.
        article = make_article(title="旧闻", published_at=dt.datetime(2022, 5, 31, 10, 3, tzinfo=dt.UTC))

        def updated():
            atom = {"a": "http://www.w3.org/2005/Atom"}
            feed = ElementTree.fromstring(page(client, "/feed.xml").content)
            [entry] = [
                entry
                for entry in feed.findall("a:entry", atom)
                if f"/news/{article.info_code}/" in entry.findtext("a:id", namespaces=atom)
            ]
            return entry.findtext("a:updated", namespaces=atom)

        assert updated() == "2022-05-31T18:03:00+08:00"
        changed = Article.objects.get(pk=article.pk)
        changed.title = "旧闻（更正）"
        with django_capture_on_commit_callbacks(execute=True):
            publishing.save_article(changed)
        assert timezone.now() - dt.datetime.fromisoformat(updated()) < dt.timedelta(minutes=1)

    def test_an_entry_without_a_summary_begins_the_article_s_text_in_a_fixed_number_of_queries(
        self, client, db, django_capture_on_commit_callbacks
    ):
        atom = {"a": "http://www.w3.org/2005/Atom"}
        make_article(info_code="SUM1", title="有摘要", summary="央行宣布降准")
        make_article(info_code="BODY1", title="无摘要", body="<p>沪指<strong>收涨</strong>1.2%&amp;创业板</p>")
        make_article(info_code="EMPTY1", title="无正文", body="")

        with CaptureQueriesContext(connection) as few:
            feed = ElementTree.fromstring(page(client, "/feed.xml").content)
        entries = {entry.findtext("a:title", namespaces=atom): entry for entry in feed.findall("a:entry", atom)}
        assert entries["有摘要"].findtext("a:summary", namespaces=atom) == "央行宣布降准"
        assert entries["无摘要"].findtext("a:summary", namespaces=atom) == "沪指收涨1.2%&创业板"
        assert entries["无正文"].find("a:summary", atom) is None
        article = page(client, Article.objects.get(info_code="BODY1").get_absolute_url()).content.decode()
        assert '<meta property="og:description" content="沪指收涨1.2%&amp;创业板">' in article

        with django_capture_on_commit_callbacks(execute=True):  # the cached feed is outdated
            for number in range(5):
                make_article(title=f"无摘要{number}", body=f"<p>{'长文' * 100}{number}</p>")
        with CaptureQueriesContext(connection) as more:
            feed = ElementTree.fromstring(page(client, "/feed.xml").content)
        (long,) = [
            entry for entry in feed.findall("a:entry", atom) if entry.findtext("a:title", namespaces=atom) == "无摘要0"
        ]
        cut = long.findtext("a:summary", namespaces=atom)  # as truncatechars:150 cuts, in Chinese ("...")
        assert cut.startswith("长文" * 70) and "0" not in cut and len(cut) <= 152
        assert len(more) == len(few)

    def test_feed_conditional_get(self, client, imported_corpus):
        response = page(client, "/feed.xml")
        page(client, "/feed.xml", status=304, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])

    def test_sitemap(self, client, hidden_articles):
        seed = Article.objects.get(info_code="NW202201072239950893")
        content = html_of(page(client, "/sitemap.xml"))

        assert f"http://testserver{seed.get_absolute_url()}" in content
        assert "<lastmod>" in content and "http://testserver/category/cailianshe/" in content
        assert "http://testserver/tag/cai-lian-she-xin-wen/" in content
        for article in hidden_articles:
            assert article.get_absolute_url() not in content

    def test_a_sitemap_s_lastmod_is_when_what_the_page_says_changed(self, client, db):
        # Imported (saved) today, unchanged since 2022: lastmod said today, as the feeds did.
        article = make_article(title="旧闻", published_at=dt.datetime(2022, 5, 31, 17, 3, tzinfo=dt.UTC))

        entry = re.search(
            rf"{article.get_absolute_url()}</loc><lastmod>([^<]+)<", html_of(page(client, "/sitemap.xml"))
        )

        assert entry.group(1) == "2022-06-01"  # Beijing's day: 01:03 on 1 June

    def test_sitemap_becomes_an_index_past_the_limit(
        self, reader, imported_corpus, monkeypatch, settings, django_assert_num_queries
    ):
        monkeypatch.setattr(ArticleSitemap, "limit", 10)
        monkeypatch.setattr("articles.site.pagination.DIRECT_ROWS", 10)
        settings.PAGE_CACHE_SECONDS = 0
        stories = list(Article.objects.published().stories().order_by("published_at", "id"))

        # Counts of the three sections (the articles' kept per content version), no article read.
        content = html_of(page(reader, "/sitemap.xml"))
        pages = -(-len(stories) // 10)
        assert pages >= 5
        assert "<sitemapindex" in content and f"http://testserver/sitemap-articles.xml?p={pages}" in content
        assert f"?p={pages + 1}<" not in content and "<lastmod>" not in content
        with django_assert_num_queries(0):  # every section's count kept per content version
            assert html_of(page(reader, "/sitemap.xml")) == content
        sections = {}
        for number in range(1, pages + 1):
            suffix = f"?p={number}" if number > 1 else ""
            with django_assert_num_queries(3, exact=False):  # at most a group's start, its first row, its rows
                sections[number] = html_of(page(reader, f"/sitemap-articles.xml{suffix}"))
            with django_assert_num_queries(1):  # again: its first row kept, its rows alone
                assert html_of(page(reader, f"/sitemap-articles.xml{suffix}")) == sections[number]
        for number, section in sections.items():
            # Oldest first: section N holds the Nth ten stories by publication, whichever end it is read from.
            wanted = stories[(number - 1) * 10 : number * 10]
            assert re.findall(r"<loc>http://testserver(\S+)</loc>", section) == [a.get_absolute_url() for a in wanted]
            assert f"<lastmod>{timezone.localdate(wanted[0].content_modified_at).isoformat()}</lastmod>" in section

    def test_robots_points_at_the_sitemap(self, client, db):
        content = html_of(page(client, "/robots.txt"))
        assert "Sitemap: http://testserver/sitemap.xml" in content and "Disallow: /admin/" in content


class TestOldUrls:
    def test_old_post_url(self, client, imported_corpus):
        article = Article.objects.get(info_code="NW202201072239950893")
        # GitHub Pages answered a post's address without its .html too, and such links went around.
        for url in ("/cailianshe/2022/01/07/NW202201072239950893.html", "/cailianshe/2022/01/07/NW202201072239950893"):
            assert page(client, url, status=301)["Location"] == article.get_absolute_url()
        assert page(client, "/index.html", status=301)["Location"] == "/"

    def test_old_category_urls(self, client, imported_corpus):
        assert page(client, "/category/cailianshe.html", status=301)["Location"] == "/category/cailianshe/"
        assert page(client, "/emnews/", status=301)["Location"] == "/category/emnews/"

    def test_old_category_name_with_spaces(self, client, db):
        make_category("21shijijingjibaodao  nancailicaitong")
        response = page(client, "/category/21shijijingjibaodao%20%20nancailicaitong.html", status=301)
        assert response["Location"] == "/category/21shijijingjibaodao-nancailicaitong/"

    def test_unknown_old_urls_are_404(self, client, imported_corpus):
        page(client, "/cailianshe/2022/01/07/NOPE.html", status=404)
        page(client, "/category/nope.html", status=404)
        page(client, "/nope/", status=404)

    def test_old_urls_of_hidden_articles_are_404(self, client, hidden_articles):
        for article in hidden_articles:
            page(client, f"/cailianshe/2022/01/07/{article.info_code}.html", status=404)

    def test_category_folders_never_shadow_the_site(self, client, db):
        make_category("archive")
        make_category("category")
        page(client, "/archive/")
        page(client, "/category/")


@pytest.mark.parametrize("page_of", ["article", "day archive", "month archive"])
def test_an_old_page_reads_no_newer_articles(client, db, page_of):
    """Pages of old news are bounded by their own dates (the article's, the archive's), never by "<= now".

    Bounded by "<= now", an old article's page took ten times longer at a million articles.
    """
    if connection.vendor != "sqlite":
        pytest.skip("counts SQLite's virtual machine steps")
    category = make_category()
    old = timezone.localtime() - dt.timedelta(days=90)
    article = make_article(category=category, tags=["一"], published_at=old)
    # A next article, next day and next month to find before the newer articles come, and after.
    make_article(category=category, tags=["一"], published_at=old + dt.timedelta(days=40))
    url = {
        "article": article.get_absolute_url(),
        "day archive": f"/archive/{old.year}/{old.month}/{old.day}/",
        "month archive": f"/archive/{old.year}/{old.month}/",
    }[page_of]
    # The side column of article pages is the hour's, read once per content version (site/aside.py).
    page(client, make_article(category=category, published_at=old - dt.timedelta(days=1)).get_absolute_url())
    with CaptureQueriesContext(connection) as queries:
        page(client, url)
    dated = [query["sql"] for query in queries.captured_queries if "published_at" in query["sql"]]
    steps = [sqlite_steps(sql) for sql in dated]

    for days in range(1, 21):
        for hour in range(15):
            make_article(category=category, tags=["一"], published_at=timezone.now() - dt.timedelta(days, hours=hour))
    assert [sqlite_steps(sql) for sql in dated] == steps


def test_market_stock_url(db):
    assert make_stock("NIO", Market.NYSE).get_absolute_url() == "/stock/nyse/NIO/"


def test_server_error_page_is_in_chinese(client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("articles.site.views.HomeView.get_context_data", broken)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500 and "服务器出错了" in response.content.decode()


class TestNoStoredValueTakesAPageDown:
    """A row written by SQL with a code or slug the URLs cannot carry is refused by the database
    itself (migration 0012), so no list has to look for one (#22.5)."""

    @pytest.mark.parametrize(
        ("table", "column", "value"),
        [
            ("articles_article", "info_code", "a/b"),
            ("articles_article", "info_code", ".."),
            ("articles_article", "slug", "wo/rong"),
            ("articles_category", "slug", "财经"),
            ("articles_tag", "slug", "a b"),
            ("articles_stockreference", "code", "BRK B"),
            ("articles_stockreference", "market", "moon"),
        ],
    )
    def test_sql_cannot_store_a_value_without_a_url(self, client, table, column, value):
        from django.db import IntegrityError, connection, transaction

        make_article(tags=["宏观"], stocks=[make_stock("601601")])
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = %s", [value])

        for url in ("/", "/feed.xml", "/sitemap.xml", "/api/v1/articles/", "/category/"):
            assert client.get(url).status_code == 200, url

    @pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps any text in a time column")
    def test_check_content_repairs_times_sql_wrote_in_another_form(self, client):
        from io import StringIO

        from django.core.management import CommandError, call_command

        stock = make_stock("601601")
        written = make_article(tags=["宏观"], stocks=[stock], published_at=dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC))
        dated, odd = make_article(tags=["宏观"]), make_article(tags=["宏观"])
        with connection.cursor() as cursor:
            for article, text in ((written, "2026-11-27T10:00:00+08:00"), (dated, "2026-11-26"), (odd, "昨天")):
                cursor.execute("UPDATE articles_article SET published_at = %s WHERE id = %s", [text, article.pk])
        with pytest.raises(CommandError, match="3 rows need"):
            call_command("check_content", stdout=StringIO(), stderr=(listed := StringIO()))
        assert f"文章 {written.pk}: published_at is stored as '2026-11-27T10:00:00+08:00'" in listed.getvalue()

        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError, match="1 row needs"):
            call_command("check_content", "--repair-times", stdout=out, stderr=err)

        assert "now '2026-11-27 02:00:00' (the same instant)" in out.getvalue()
        assert (
            "now '2026-11-25 16:00:00' (its midnight in Beijing: pages showed 08:00)" in out.getvalue()
            and f"{odd.pk}: published_at is stored as '昨天'" in err.getvalue()
        )
        written.refresh_from_db()
        assert written.published_at == dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC)
        Article.objects.filter(pk=odd.pk).update(published_at=timezone.now())
        for url in ("/tag/hong-guan/", stock.get_absolute_url(), written.get_absolute_url(), "/archive/2026/11/"):
            assert client.get(url).status_code in (200, 301), url
        call_command("check_content", stdout=(sound := StringIO()))
        assert "Every time is stored as Django writes it." in sound.getvalue()

    @pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps any text in a time column")
    def test_check_content_repairs_times_of_other_apps_tables_pages_read(self):
        """A revision's time (历史 orders and shows them), a user's, a session's expiry (read on
        every request carrying it): each is compared and ordered by SQL as text."""
        from io import StringIO

        from django.contrib.sessions.backends.db import SessionStore
        from django.core.management import CommandError, call_command
        from reversion.models import Revision, Version

        article = make_article()
        editor = make_editor()
        (version,) = Version.objects.get_for_object(article)
        session = SessionStore()
        session.create()
        written = {
            ("reversion_revision", "date_created", "id", version.revision_id): "2026-11-27T10:00:00+08:00",
            ("auth_user", "date_joined", "id", editor.pk): "2026-11-26",
            ("django_session", "expire_date", "session_key", session.session_key): "2099-01-01T00:00:00",
        }
        with connection.cursor() as cursor:
            for (table, column, pk, key), text in written.items():
                cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", [text, key])

        with pytest.raises(CommandError, match="3 rows need"):
            call_command("check_content", stdout=StringIO(), stderr=(listed := StringIO()))
        revision = f"{Revision._meta.verbose_name} {version.revision_id}"
        assert f"{revision}: date_created is stored as '2026-11-27T10:00:00+08:00'" in listed.getvalue()
        assert f"{User._meta.verbose_name} {editor.pk}: date_joined is stored as '2026-11-26'" in listed.getvalue()
        call_command("check_content", "--repair-times", stdout=(repaired := StringIO()))

        assert "now '2026-11-27 02:00:00' (the same instant)" in repaired.getvalue()
        assert Version.objects.get(pk=version.pk).revision.date_created == dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC)
        assert SessionStore(session.session_key).exists(session.session_key)
        call_command("check_content", stdout=StringIO())

    @pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps any text in a time column")
    @pytest.mark.parametrize("text", ["0001-01-01T00:00:00+08:00", "9999-12-31T20:00:00-05:00", "0001-01-01"])
    def test_check_content_lists_a_time_django_s_form_cannot_hold(self, text):
        """Before year 1 or after 9999 in UTC (a bare date is its midnight in Beijing): listed for
        an operator, not a traceback halfway through the repairs."""
        from io import StringIO

        from django.core.management import CommandError, call_command

        article = make_article()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE articles_article SET published_at = %s WHERE id = %s", [text, article.pk])

        with pytest.raises(CommandError, match="1 row needs"):
            call_command("check_content", "--repair-times", stdout=StringIO(), stderr=(listed := StringIO()))
        assert f"文章 {article.pk}: published_at is stored as {text!r}, not as Django writes" in listed.getvalue()

    def test_check_content_lists_a_copy_whose_lead_is_gone(self):
        """Deleted around the foreign key (sqlite3's shell): its page is its own, but every list of
        stories leaves it out as a copy, until a save drops the link (publishing)."""
        from io import StringIO

        from django.core.management import CommandError, call_command

        lead = make_article(info_code="NW1", title="央行降准")
        copy = make_article(info_code="NWC1", title="央行降准", story=lead)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM articles_article WHERE id = %s", [lead.pk])

        with pytest.raises(CommandError, match="1 row needs"):
            call_command("check_content", stdout=StringIO(), stderr=(listed := StringIO()))
        assert f"文章 {copy.pk} is the copy of article {lead.pk}, which is gone" in listed.getvalue()
        publishing.save_article(Article.objects.get(pk=copy.pk))
        call_command("check_content", stdout=StringIO())

    def test_check_content_finds_nothing_on_a_sound_database(self):
        from io import StringIO

        from django.core.management import call_command

        make_article(tags=["宏观"], stocks=[make_stock("BRK-B", market="nyse")])
        out = StringIO()
        call_command("check_content", stdout=out)
        assert "Every article, category, tag and stock has a URL." in out.getvalue()
