"""Property-based tests: whatever the scraper writes, the import takes it or says why. And
fault injection: whatever is stored, written around the site (SQL, an old version), every page
still answers and shows it safely."""

import datetime as dt
import json
import tracemalloc
from io import StringIO

import pytest
from bs4 import BeautifulSoup
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reversion.models import Version

from articles import publishing
from articles.intake import reasons
from articles.intake.body import clean_body
from articles.intake.frontmatter import PostError, parse_front_matter
from articles.intake.importer import WRITE_FAILURE, Outcome, PostImporter
from articles.intake.posts import parse_post
from articles.intake.stocks import _CODE_PATTERNS, extract_stocks
from articles.models import Article, ImportRun, Tag
from articles.sanitize import sanitize_html
from tests.conftest import post_text
from tests.factories import make_article, make_category, make_editor, make_stock
from tests.test_editor import change_form

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Whole-file imports write to the database: fewer examples keep the suite fast.
FUZZ_IMPORT = settings(FUZZ, max_examples=60)

html_fragments = st.lists(
    st.sampled_from(
        [
            "<p>", "</p>", "<script>", "</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:x">', "</a>",
            "<!-- EM_StockImg_Start -->", "<!-- EM_StockImg_End -->", '<a data-code="1,600000">', '<span data-code="NIO|106|7">',
            '<a href="http://quote.eastmoney.com/unify/r/90.BK0493">', '<p class="em_media">', "（文章来源：", "）", "> ",
            "\n", "\r\n", "降准", "**", "[返回首页](../)", "<http://finance.eastmoney.com/news/1,2.html>", "<>", "<svg>",
            "<math>", "&lt;", "&#x0;", "\x00", "\u3000", "<style>", "<table><tr><td>", "<", ">", '"', "'", "---",
        ]
    )
    | st.text(max_size=20),
    max_size=60,
).map("".join)  # fmt: skip


@FUZZ
@given(st.binary(max_size=4000))
def test_parse_post_takes_any_bytes_or_says_why(tmp_path, raw):
    try:
        post = parse_post(tmp_path / "2022-01-07-F1.md", raw)
    except PostError as error:
        assert str(error)
    else:
        assert post.title and post.published_at.tzinfo is not None


@FUZZ
@given(st.text(max_size=3000))
def test_front_matter_parser_always_returns_a_mapping(block):
    try:
        data = parse_front_matter(block)
    except PostError:
        return
    assert isinstance(data, dict)


@FUZZ
@given(html_fragments)
def test_cleaned_body_never_carries_script(text):
    body = clean_body(text, [])
    soup = BeautifulSoup(body.html, "lxml")
    for element in soup.find_all(True):
        assert element.name not in {"script", "style", "iframe", "svg", "math", "form", "object", "embed"}
        for attribute, value in element.attrs.items():
            assert not attribute.startswith("on")
            if attribute in ("href", "src"):
                assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:"))
    assert "\x00" not in body.html and "\x00" not in body.summary


@FUZZ
@given(html_fragments)
def test_what_a_body_loses_is_said_and_read_in_chinese(text):
    warnings = []
    clean_body(text, warnings)
    for warning in warnings:
        assert reasons.in_chinese(warning) != warning, warning


@FUZZ
@given(html_fragments)
def test_stock_references_are_always_valid_codes(text):
    for stock in extract_stocks(BeautifulSoup(f"<body>{text}</body>", "lxml"), []):
        assert _CODE_PATTERNS[stock.market].match(stock.code)


@FUZZ
@given(html_fragments)
# A dropped link holding a table whose cell holds another: HTML5 nests them.
@example('<a href="javascript:x"><table><tr><td><a data-code="1,600000">')
def test_sanitizer_is_idempotent(text):
    once = sanitize_html(text)
    # As a plain str: sanitize_html returns its own output (Sanitized) unread, which this justifies.
    assert sanitize_html(str(once)) == once


@pytest.mark.django_db
@FUZZ_IMPORT
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_importing_any_file_never_crashes(tmp_path, raw):
    path = tmp_path / "2022-01-07-FUZZ1.md"
    path.write_bytes(raw)
    report = PostImporter().import_file(path)
    assert report.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.REJECTED)
    if report.outcome == Outcome.REJECTED:
        # Rejected for what is wrong with the file, never because writing it failed.
        assert report.reason and not report.reason.startswith(WRITE_FAILURE), report.reason


@pytest.mark.django_db
@FUZZ_IMPORT
@given(
    title=st.text(min_size=1, max_size=300),
    body=html_fragments,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
    truncate=st.integers(min_value=0, max_value=50),
)
def test_real_shaped_posts_in_any_encoding_import_or_say_why(tmp_path, title, body, encoding, truncate):
    text = post_text(title=f'"{title}"', body=body)
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        return
    path = tmp_path / "2022-01-07-FUZZ2.md"
    path.write_bytes(raw[: len(raw) - truncate] if truncate else raw)
    report = PostImporter().import_file(path)
    assert report.outcome != Outcome.REJECTED or (report.reason and not report.reason.startswith(WRITE_FAILURE))


@pytest.mark.django_db
def test_a_post_of_several_megabytes_imports_in_bounded_memory(write_post):
    """Python-level peak (tracemalloc) of one import; the benchmark measures whole-process RSS."""
    paragraph = "<p>" + "人民银行决定下调存款准备金率，" * 40 + '<a data-code="1,601601">中国太保</a></p>\n'
    body = paragraph * (6 * 1024 * 1024 // len(paragraph.encode()))
    path = write_post("2022-01-07-BIG1.md", post_text(body=body))
    size = path.stat().st_size

    tracemalloc.start()
    report = PostImporter().import_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert report.outcome == Outcome.CREATED
    assert Article.objects.get(info_code="BIG1").stocks.get().code == "601601"
    assert size > 5 * 1024 * 1024 and peak < 40 * size, f"peak {peak / 2**20:.0f} MB for a {size / 2**20:.1f} MB file"


# Stored values nothing in the site writes (SQL, an old version of the site): every page still answers.


def _history_of(article):
    return f"/admin/articles/article/{article.pk}/history/"


@pytest.mark.django_db
class TestUnreadableVersions:
    """A revision's data is a row like any other: one that reversion cannot read takes none of the
    pages that read it down (the version's own page, 对照 and 恢复), each says so in Chinese."""

    @pytest.fixture
    def article(self, client):
        client.force_login(make_editor())
        article = make_article(title="央行降准", tags=["宏观"])
        changed = Article.objects.get(pk=article.pk)
        changed.title = "央行宣布降准"
        publishing.save_article(changed, tags=["宏观", "银行"])
        return article

    @staticmethod
    def _store(version, serialized_data, **fields):
        Version.objects.filter(pk=version.pk).update(serialized_data=serialized_data, **fields)

    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda data: "{not json", id="invalid-json"),
            pytest.param(lambda data: "", id="empty"),
            pytest.param(lambda data: "[]", id="no-object"),
            pytest.param(lambda data: data.replace('"articles.article"', '"articles.gone"'), id="model-gone"),
            pytest.param(lambda data: data.replace('"stocks": []', '"stocks": [{"code": "601601"}]'), id="wrong-type"),
        ],
    )
    def test_a_version_reversion_cannot_read(self, client, article, damage):
        older, newer = Version.objects.get_for_object(article).order_by("pk")
        self._store(older, damage(older.serialized_data))
        history = _history_of(article)
        pages = {
            "version": (client.get, f"{history}{older.pk}/"),
            "compare": (client.get, f"{history}compare/?version_id1={older.pk}&version_id2={newer.pk}"),
            "restore": (client.post, f"{history}{older.pk}/"),
        }

        for name, (method, url) in pages.items():
            response = method(url, {"_save": "保存"} if method == client.post else {}, follow=True)
            assert response.redirect_chain == [(history, 302)], name
            said = [str(message) for message in get_messages(response.wsgi_request)]
            assert any(message.startswith("这个版本无法打开，不能查看、对照或恢复：") for message in said), (name, said)
        assert Article.objects.get(pk=article.pk).title == "央行宣布降准"  # nothing restored
        assert client.get(f"{history}{newer.pk}/").status_code == 200  # the other version still opens

    def test_a_deleted_article_s_version_reversion_cannot_read(self, client, article):
        publishing.delete_articles(Article.objects.filter(pk=article.pk))
        (deleted, *_) = Version.objects.get_deleted(Article)
        self._store(deleted, "[]")
        recover = f"/admin/articles/article/recover/{deleted.pk}/"

        for method in (client.get, client.post):
            response = method(recover, follow=True)
            assert response.redirect_chain == [("/admin/articles/article/recover/", 302)]
            said = [str(message) for message in get_messages(response.wsgi_request)]
            assert said == ["这个版本无法打开，不能查看、对照或恢复：它保存的数据里没有这篇文章。其他版本不受影响。"]
        assert not Article.objects.filter(pk=article.pk).exists()

    @pytest.mark.parametrize(
        ("page", "permissions"),
        [("recover", ["view_article", "change_article"]), ("version", []), ("compare", ["delete_article"])],
    )
    def test_a_user_who_may_not_open_the_page_is_refused_before_anything_is_said(
        self, client, article, page, permissions
    ):
        """The message of an unreadable version is for the page it leads to: one who may not open
        it is refused first, and the message does not wait for their next page."""
        from django.contrib.auth.models import Permission, User

        older, newer = Version.objects.get_for_object(article).order_by("pk")
        if page == "recover":
            publishing.delete_articles(Article.objects.filter(pk=article.pk))
            (older, *_) = Version.objects.get_deleted(Article)
        self._store(older, "[]")
        visitor = User.objects.create_user("visitor", is_staff=True)
        visitor.user_permissions.set(Permission.objects.filter(codename__in=permissions))
        client.force_login(visitor)
        history = _history_of(article)
        url = {
            "recover": f"/admin/articles/article/recover/{older.pk}/",
            "version": f"{history}{older.pk}/",
            "compare": f"{history}compare/?version_id1={older.pk}&version_id2={newer.pk}",
        }[page]

        response = client.get(url)

        assert response.status_code == 403
        assert list(get_messages(response.wsgi_request)) == []

    @pytest.mark.parametrize("written", ["²", "9" * 20, "9" * 5000])
    def test_a_version_id_no_version_can_have_is_the_library_s_to_answer(self, client, article, written):
        """A URL's id: a superscript digit, one beyond the column's integers (which SQLite's driver
        cannot send), one too long for int(): the check before the library's page took it down."""
        newer = Version.objects.get_for_object(article).order_by("pk").last()
        history = _history_of(article)

        assert client.get(f"{history}compare/?version_id1={written}&version_id2={newer.pk}").status_code == 404
        assert client.get(f"{history}compare/?version_id1={newer.pk}&version_id2={written}").status_code == 404
        if written == "9" * 20:  # what the version's and 恢复's URLs carry (\d+), int() reads
            assert client.get(f"{history}{written}/").status_code == 404
            assert client.get(f"/admin/articles/article/recover/{written}/").status_code == 404

    def test_a_tag_link_of_a_model_no_longer_known(self, client, article):
        older = Version.objects.get_for_object(article).order_by("pk").first()
        gone, _ = ContentType.objects.get_or_create(app_label="articles", model="gonelink")
        Version.objects.filter(revision_id=older.revision_id).exclude(pk=older.pk).update(content_type=gone)

        response = client.get(f"{_history_of(article)}{older.pk}/", follow=True)

        assert response.redirect_chain == [(_history_of(article), 302)]
        assert "本站已不再使用的一类记录" in str(list(get_messages(response.wsgi_request))[0])

    @pytest.mark.parametrize(
        ("stored", "shown"),
        [
            ("2022-01-07T04:35:20", "2022-01-07 04:35"),
            ("9999-12-31T23:00:00Z", "9999-12-31T23:00:00+00:00（UTC，超出范围）"),
        ],
        ids=["naive", "beyond-local-time"],
    )
    def test_a_version_s_time_as_no_version_of_the_site_wrote_it(self, client, article, stored, shown):
        older, newer = Version.objects.get_for_object(article).order_by("pk")
        serialized = json.loads(older.serialized_data)
        serialized[0]["fields"]["published_at"] = stored
        self._store(older, json.dumps(serialized, ensure_ascii=False))

        response = client.get(f"{_history_of(article)}compare/?version_id1={older.pk}&version_id2={newer.pk}")

        assert response.status_code == 200
        rows = {row.th.contents[0].strip(): row for row in BeautifulSoup(response.content, "lxml").select("tbody tr")}
        assert rows["发布时间"].select("td")[0].get_text() == shown


@pytest.mark.django_db
class TestTimesBeyondLocalTime:
    """A time in the last hours of year 9999 (UTC), which Python holds but not in Beijing time, or
    PostgreSQL's 'infinity' (a DBA's "pinned for ever"), in any time column: read as a time pages
    can show (finews/database.py), no page answers 500."""

    COLUMNS = [
        ("articles_article", "pinned_until"),
        ("articles_article", "updated_at"),
        ("articles_article", "content_changed_at"),
        ("articles_importrun", "finished_at"),
        ("reversion_revision", "date_created"),
    ]

    @pytest.mark.parametrize("stored", ["9999-12-31 23:00:00+00:00", "infinity"])
    def test_every_page_showing_one_answers(self, client, stored, django_capture_on_commit_callbacks):
        if stored == "infinity" and connection.vendor != "postgresql":
            pytest.skip("only PostgreSQL has infinity")
        if connection.vendor == "sqlite":
            stored = stored.removesuffix("+00:00")  # as Django writes times there: naive UTC
        with django_capture_on_commit_callbacks(execute=True):
            article = make_article(info_code="A1", title="央行降准", tags=["宏观"], stocks=[make_stock("601601")])
            changed = Article.objects.get(pk=article.pk)
            changed.title = "央行宣布降准"
            publishing.save_article(changed, tags=["宏观"], stocks=changed.stocks.all())
            publishing.pin_article(changed, kind=Article.Pin.LEAD)
        run = ImportRun.objects.create(source=ImportRun.Source.COMMAND, result=ImportRun.Result.OK)
        with connection.cursor() as cursor:
            for table, column in self.COLUMNS:
                cursor.execute(f"UPDATE {table} SET {column} = %s", [stored])
        client.force_login(make_editor())
        older, *_, newer = Version.objects.get_for_object(article).order_by("pk")
        history = _history_of(article)
        urls = [
            "/", article.get_absolute_url(), "/feed.xml", "/tag/hong-guan/feed/", "/stock/sh/601601/feed/",
            "/sitemap.xml", "/api/v1/articles/", "/api/v1/articles/A1/", "/admin/articles/article/",
            f"/admin/articles/article/{article.pk}/change/", history, f"{history}{older.pk}/",
            f"{history}compare/?version_id1={older.pk}&version_id2={newer.pk}",
            "/admin/articles/importrun/", f"/admin/articles/importrun/{run.pk}/change/",
        ]  # fmt: skip

        for url in urls:
            assert client.get(url).status_code == 200, url
        assert client.post(f"{history}{older.pk}/", {"_save": "保存"}).status_code == 302
        assert Article.objects.get(pk=article.pk).title == "央行降准"
        assert "至 12-01 08:00" in client.get("/admin/articles/article/").content.decode()  # the pin_state column


@pytest.mark.django_db
class TestBodiesWrittenAroundTheAllowList:
    """Every write stores a body cleaned; one written by SQL is cleaned as it is shown, so that it
    cannot send readers elsewhere or swallow the rest of its page."""

    @pytest.mark.parametrize(
        "body",
        [
            '<p>降准</p><meta http-equiv="refresh" content="0;url=https://evil.example/">',
            "<p>降准</p><textarea>",
            "<p>降准</p><!--",
            '<p>降准</p><script src="https://evil.example/x.js"></script><p onclick="x()">后文</p>',
            "<div>" * 300 + "降准",  # too deep for the allow-list to clean: shown as text
        ],
        ids=["meta-refresh", "unclosed-textarea", "unclosed-comment", "script", "too-deep"],
    )
    def test_the_article_page_and_the_api_show_it_cleaned(self, client, body):
        article = make_article(info_code="B1", body="<p>正文</p>")
        Article.objects.filter(pk=article.pk).update(body=body)

        page = BeautifulSoup(client.get(article.get_absolute_url()).content.decode(), "lxml")
        api = client.get("/api/v1/articles/B1/").json()["body_html"]

        shown = page.select_one(".article-body")
        assert "降准" in shown.get_text() and shown.find(["meta", "textarea", "script"]) is None
        assert page.select_one("footer.site-footer") is not None and shown.select_one("footer") is None
        assert not any(attribute.startswith("on") for element in shown.find_all(True) for attribute in element.attrs)
        for text in ("evil.example", "<textarea", "<!--", "<script", "http-equiv", "onclick"):
            assert text not in api
        assert "降准" in api

    @pytest.mark.parametrize(
        ("stored", "linked"),
        [
            ("javascript:alert(1)", ""),
            (" JavaScript:alert(1)", ""),
            ("data:text/html,<script>alert(1)</script>", ""),
            ("http://exa mple.com/", ""),
            ("https://www.cls.cn/detail/1?a=1&b=2", "https://www.cls.cn/detail/1?a=1&b=2"),
        ],
    )
    def test_a_source_address_is_linked_only_where_a_body_s_link_would_be(self, client, stored, linked):
        article = make_article(info_code="B1", source_name="财联社")
        Article.objects.filter(pk=article.pk).update(source_url=stored)

        page = BeautifulSoup(client.get(article.get_absolute_url()).content.decode(), "lxml")

        meta = page.select_one("header .meta")
        assert "来源：财联社" in meta.get_text()
        assert [link["href"] for link in meta.select("a")] == ([linked] if linked else [])
        assert client.get("/api/v1/articles/B1/").json()["source_url"] == linked


@pytest.mark.django_db
def test_an_article_form_saved_as_shown_keeps_its_times_to_the_second(client):
    """Imported news is timed to the second: the change form shows the seconds, so saving it as
    shown (a title changed) keeps the publication time, and a pin that has ended stays as it was."""
    published_at = dt.datetime(2026, 11, 20, 4, 35, 20, tzinfo=dt.UTC)
    article = make_article(title="央行降准", published_at=published_at)
    publishing.pin_article(article, kind=Article.Pin.LEAD, until=timezone.now() + dt.timedelta(hours=1))
    ended = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    Article.objects.filter(pk=article.pk).update(pinned_until=ended)  # as time itself leaves it
    client.force_login(make_editor())

    url, data = change_form(client, article)
    response = client.post(url, {**data, "title": "央行宣布降准"})

    assert response.status_code == 302
    saved = Article.objects.get(pk=article.pk)
    assert (saved.title, saved.published_at, saved.pinned_until) == ("央行宣布降准", published_at, ended)
    assert data["published_at_1"] == "12:35:20"


@pytest.mark.django_db
def test_restoring_a_version_of_an_article_deleted_meanwhile_says_so(client):
    """Its 历史 was open while another editor deleted it: 恢复 says where it can be recovered."""
    article = make_article(title="央行降准")
    version = Version.objects.get_for_object(article).first()
    client.force_login(make_editor())
    publishing.delete_articles(Article.objects.filter(pk=article.pk))

    response = client.post(
        f"/admin/articles/article/{article.pk}/history/{version.pk}/", {"_save": "保存"}, follow=True
    )

    assert response.status_code == 200
    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert said == ["这篇文章已被删除，不能恢复到它的某个版本：请在文章列表的“恢复已删除的 文章”中恢复它。"]
    assert not Article.objects.filter(pk=article.pk).exists()


@pytest.mark.django_db
def test_a_copy_whose_lead_was_deleted_around_the_foreign_key_is_a_story_of_its_own(client):
    """sqlite3's shell checks no foreign key unless told to: a lead deleted there leaves its copies
    pointing at no row. Each copy's page, QR code and API answer as its own story, and saving it
    in the admin drops the link."""
    lead = make_article(info_code="NW1", title="央行降准")
    copy = make_article(info_code="NWC1", title="央行降准", story=lead)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM articles_article WHERE id = %s", [lead.pk])
    client.force_login(make_editor())

    page = client.get("/news/NWC1/", follow=True)
    assert page.status_code == 200 and page.redirect_chain == [(f"/news/NWC1/{copy.slug}/", 301)]
    assert client.get("/news/NWC1/qr.svg").status_code == 200
    assert client.get("/api/v1/articles/NWC1/").json()["info_code"] == "NWC1"
    url, data = change_form(client, copy)
    assert client.post(url, data).status_code == 302
    assert Article.objects.get(pk=copy.pk).story_id is None


@pytest.mark.django_db
def test_a_copy_asks_once_for_a_lead_whose_row_is_gone(django_assert_num_queries):
    """Article.lead remembers a lead it did not find, as it remembers one it found: a page asking
    for it several times (its address, its template) reads it once."""
    lead = make_article(info_code="NW2", title="央行降息")
    make_article(info_code="NWC2", title="央行降息", story=lead)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM articles_article WHERE id = %s", [lead.pk])
    copy = Article.objects.get(info_code="NWC2")

    with django_assert_num_queries(1):
        assert copy.lead is None and copy.lead is None
        assert copy.get_absolute_url() == f"/news/NWC2/{copy.slug}/"
    assert copy.story_id == lead.pk  # the link is dropped by a save, not by a read
    Article.objects.filter(pk=copy.pk).update(story=None)  # the test database checks its links at the end


@pytest.mark.django_db
@pytest.mark.parametrize("shape", ["itself", "cycle", "chain"])
def test_a_copy_whose_story_is_itself_or_another_copy_is_a_story_of_its_own(client, shape):
    """SQL can make an article its own copy, or two each other's (no save can: Article.clean): each
    page redirected to the next for ever. Each answers as a story of its own, check_content lists
    it, and the admin's form says in Chinese what to change."""
    first = make_article(info_code="NW3", title="央行降准")
    second = make_article(info_code="NW4", title="央行降息")
    third = make_article(info_code="NW5", title="央行加息")
    links = {
        "itself": [(first, first)],
        "cycle": [(first, second), (second, first)],
        "chain": [(first, second), (second, third)],
    }[shape]
    for copy, story in links:
        Article.objects.filter(pk=copy.pk).update(story=story)
    client.force_login(make_editor())

    copies = {copy.pk for copy, _ in links}
    for article in Article.objects.filter(pk__in=copies, story__in=copies):
        response = client.get(f"/news/{article.info_code}/", follow=True)
        assert response.status_code == 200, article.info_code
        assert response.redirect_chain == [(f"/news/{article.info_code}/{article.slug}/", 301)]
        assert client.get(f"/api/v1/articles/{article.info_code}/").json()["info_code"] == article.info_code
    errors = StringIO()
    with pytest.raises(CommandError):
        call_command("check_content", stdout=StringIO(), stderr=errors)
    assert f"文章 {first.pk} is the copy of article {links[0][1].pk}, itself " in errors.getvalue()
    url, data = change_form(client, first)
    response = client.post(url, data)
    assert response.status_code == 200 and "同一新闻" in response.content.decode()
    assert client.post(url, {**data, "story": ""}).status_code == 302
    assert Article.objects.get(pk=first.pk).story_id is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM articles_stocklisting WHERE article_id = %(mentioning)s",
        "INSERT INTO articles_stocklisting (stock_id, article_id, published_at) "
        "SELECT stock_id, %(other)s, published_at FROM articles_stocklisting WHERE article_id = %(mentioning)s",
        "UPDATE articles_stocklisting SET published_at = %(later)s WHERE article_id = %(mentioning)s",
    ],
    ids=["missing", "not-mentioned", "another-time"],
)
def test_a_stock_s_list_out_of_step_with_its_articles_is_listed_and_repaired(client, damage):
    """A stock's page reads its StockListing rows, which only publishing writes beside the
    article's stocks: rows SQL deleted, added or moved left a stock's page empty, or listing news
    that never named it, and no save put them back (they are written when the stocks change)."""
    stock = make_stock("601601", name="中国太保")
    mentioning = make_article(info_code="S1", title="中国太保业绩", stocks=[stock])
    other = make_article(info_code="S2", title="央行降准")
    with connection.cursor() as cursor:
        cursor.execute(
            damage,
            {
                "mentioning": mentioning.pk,
                "other": other.pk,
                "later": connection.ops.adapt_datetimefield_value(timezone.now()),
            },
        )

    errors = StringIO()
    with pytest.raises(CommandError):
        call_command("check_content", stdout=StringIO(), stderr=errors)
    assert "stock lists are out of step" in errors.getvalue()
    call_command("check_content", "--repair-stock-listings", stdout=StringIO(), stderr=StringIO())
    call_command("check_content", stdout=StringIO(), stderr=StringIO())

    page = BeautifulSoup(client.get("/stock/sh/601601/").content.decode(), "lxml")
    assert [link.get_text() for link in page.select(".article-item-title")] == ["中国太保业绩"]


@pytest.mark.django_db
def test_a_status_no_version_of_the_site_wrote(client):
    """A status that is none of the choices (SQL): the article is no reader's, check_content
    lists it, and its form says so in Chinese; the form's select showed none chosen, and saving
    it as shown was refused with 这个字段是必填项 (a browser sent the first choice unsaid)."""
    article = make_article(info_code="S3", title="央行降准")
    Article.objects.filter(pk=article.pk).update(status="Published")
    client.force_login(make_editor())

    assert client.get(article.get_absolute_url()).status_code == 404
    errors = StringIO()
    with pytest.raises(CommandError):
        call_command("check_content", stdout=StringIO(), stderr=errors)
    assert f"文章 {article.pk} has the status 'Published', none of draft, pending, published" in errors.getvalue()
    url, data = change_form(client, article)
    page = BeautifulSoup(client.get(url).content.decode(), "lxml")
    assert "存储的状态“Published”不是可选的状态" in page.select_one(".field-status").get_text()
    assert client.post(url, {**data, "status": "published"}).status_code == 302
    assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED


@pytest.mark.django_db
def test_an_article_whose_category_s_row_is_gone(client):
    """A category deleted in sqlite3's shell (which checks no foreign key unless told to) left its
    articles in none: every list, the admin's included, leaves them out (they are read joined to
    their category). check_content names each, with its form's address, where 分类 asks for one."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL checks every foreign key")
    category = make_category("gone")
    article = make_article(info_code="C1", title="央行降准", category=category)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute("DELETE FROM articles_category WHERE id = %s", [category.pk])
        cursor.execute("PRAGMA foreign_keys = ON")
    client.force_login(make_editor())

    errors = StringIO()
    with pytest.raises(CommandError):
        call_command("check_content", stdout=StringIO(), stderr=errors)
    change = f"/admin/articles/article/{article.pk}/change/"
    assert f"文章 {article.pk} is in category {category.pk}, which is gone" in errors.getvalue()
    assert change in errors.getvalue()
    url, data = change_form(client, article)
    assert "这个字段是必填项" in client.post(url, data).content.decode()  # 分类 shows none: choose one
    other = make_category("cailianshe")
    assert client.post(url, {**data, "category": other.pk}).status_code == 302
    assert client.get(Article.objects.get(pk=article.pk).get_absolute_url()).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("stored", ["", "   ", " 宏观 "])
def test_a_tag_name_no_save_makes_is_kept_by_a_save_that_leaves_the_tags(client, stored):
    """A tag renamed by SQL to a name the tag text cannot carry (empty, spaces around it): saving
    one of its articles with only the title changed dropped the tag from it, or moved it to
    another tag, unsaid. Tags the editor left as shown stay as stored."""
    article = make_article(title="央行降准", tags=["宏观", "银行"])
    Tag.objects.filter(name="宏观").update(name=stored)
    client.force_login(make_editor())

    url, data = change_form(client, article)
    assert client.post(url, {**data, "title": "央行宣布降准"}).status_code == 302

    saved = Article.objects.get(pk=article.pk)
    assert saved.title == "央行宣布降准"
    assert sorted(saved.tags.values_list("name", flat=True)) == sorted([stored, "银行"])


@pytest.mark.django_db
def test_an_article_whose_responsible_editor_s_row_is_gone_is_saved_without_one(client):
    """A user deleted in sqlite3's shell (which checks no foreign key unless told to) left the
    articles they published pointing at no row: every save of one was refused with a 500."""
    from django.contrib.auth.models import User

    gone = User.objects.create_user("gone")
    article = make_article(title="央行降准", responsible_editor=gone)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth_user WHERE id = %s", [gone.pk])
    client.force_login(make_editor())

    assert client.get(article.get_absolute_url()).status_code == 200
    url, data = change_form(client, article)
    assert client.post(url, {**data, "title": "央行宣布降准"}).status_code == 302
    saved = Article.objects.get(pk=article.pk)
    assert (saved.title, saved.responsible_editor_id) == ("央行宣布降准", None)


@pytest.mark.django_db
@pytest.mark.parametrize("stored", ["soon", "2026-13-45 10:00:00", 1700000000])
def test_a_time_column_holding_no_time_on_sqlite(client, stored):
    """SQLite keeps any value in any column: text that is no time (or a number) in a time column,
    written by its shell, is read as a time outside the publication range (finews/database.py),
    not as None, which every list compared with a time."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps only times in a timestamptz column")
    article = make_article(info_code="T1", title="央行降准", tags=["宏观"])
    publishing.pin_article(article, kind=Article.Pin.LEAD, until=timezone.now() + dt.timedelta(hours=1))
    make_article(title="其他消息")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE articles_article SET published_at = %s, updated_at = %s, pinned_until = %s WHERE id = %s",
            [stored, stored, stored, article.pk],
        )
    client.force_login(make_editor())

    for url in (
        "/",
        "/7x24/",
        "/feed.xml",
        "/sitemap.xml",
        "/archive/",
        "/api/v1/articles/",
        "/admin/articles/article/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get(f"/admin/articles/article/{article.pk}/change/").status_code == 200
