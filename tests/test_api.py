"""The JSON API: reading published articles, and the scraper's ingest of post files."""

import datetime as dt
import io
import json
import logging

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import HttpResponse, HttpResponseForbidden
from django.test import Client
from django.utils import timezone

from articles.api.errors import JsonErrorsMiddleware
from articles.models import Article, ImportRun, IngestToken
from articles.search import rebuild_index
from finews.settings.base import cache_from_environment
from finews.testing import redis
from finews.testing.server import free_port
from tests.conftest import post_text
from tests.factories import make_article, make_category, make_stock

pytestmark = pytest.mark.django_db


def get_json(client, url, status=200, **parameters):
    response = client.get(url, parameters)
    assert response.status_code == status, response.content.decode()[:500]
    return response.json()


@pytest.fixture
def newsroom():
    """Five published articles an hour apart, a draft and a scheduled one."""
    now = timezone.now().replace(microsecond=0)
    macro, markets = make_category("hongguan", title="宏观"), make_category("shichang")
    taibao = make_stock("601601", name="中国太保")
    articles = [
        make_article(
            info_code=f"A{number}",
            title=f"第{number}条",
            category=macro if number % 2 else markets,
            tags=["宏观"] if number % 2 else ["港股"],
            stocks=[taibao] if number == 3 else [],
            summary=f"摘要{number}",
            published_at=now - dt.timedelta(hours=number),
        )
        for number in range(1, 6)
    ]
    make_article(info_code="DRAFT", status=Article.Status.DRAFT, tags=["内部"], stocks=[make_stock("688999")])
    make_article(info_code="LATER", published_at=now + dt.timedelta(days=1))
    rebuild_index()
    return articles


class TestReading:
    def test_newest_first_with_every_field(self, client, newsroom):
        page = get_json(client, "/api/v1/articles/")

        assert [item["info_code"] for item in page["items"]] == ["A1", "A2", "A3", "A4", "A5"]
        assert page["next"] is None
        third = page["items"][2]
        article = Article.objects.get(info_code="A3")
        assert third["url"] == f"http://testserver{article.get_absolute_url()}"
        assert third["published_at"].endswith("+08:00")
        assert dt.datetime.fromisoformat(third["published_at"]) == article.published_at
        assert third["category"] == {"slug": "hongguan", "name": "宏观"}
        assert third["tags"] == [{"slug": "hong-guan", "name": "宏观"}]
        assert third["stocks"] == [{"market": "sh", "code": "601601", "name": "中国太保"}]
        assert third["summary"] == "摘要3" and set(third) >= {"source_name", "source_url", "updated_at"}

    @pytest.mark.parametrize(
        ("parameters", "expected"),
        [
            ({"category": "hongguan"}, ["A1", "A3", "A5"]),
            ({"tag": "gang-gu"}, ["A2", "A4"]),
            ({"stock": "601601"}, ["A3"]),
            ({"stock": "601601", "market": "sh"}, ["A3"]),
            ({"q": "第3"}, ["A3"]),
            ({"limit": 2}, ["A1", "A2"]),
        ],
    )
    def test_filters(self, client, newsroom, parameters, expected):
        items = get_json(client, "/api/v1/articles/", **parameters)["items"]
        assert [item["info_code"] for item in items] == expected

    def test_since_and_until_naive_means_beijing(self, client, newsroom):
        third = timezone.localtime(Article.objects.get(info_code="A3").published_at)
        naive = third.replace(tzinfo=None).isoformat()
        items = get_json(client, "/api/v1/articles/", since=naive)["items"]
        assert [item["info_code"] for item in items] == ["A1", "A2", "A3"]
        utc = third.astimezone(dt.UTC).isoformat()
        items = get_json(client, "/api/v1/articles/", until=utc)["items"]
        assert [item["info_code"] for item in items] == ["A4", "A5"]

    def test_cursor_pages_stay_right_while_news_arrives(self, client, newsroom):
        first = get_json(client, "/api/v1/articles/", limit=2)
        for number in range(3):
            make_article(info_code=f"NEWER{number}", published_at=timezone.now())
        seen = [item["info_code"] for item in first["items"]]
        next_url = first["next"]
        while next_url:
            page = get_json(client, next_url.removeprefix("http://testserver"))
            seen += [item["info_code"] for item in page["items"]]
            next_url = page["next"]

        assert seen == ["A1", "A2", "A3", "A4", "A5"]
        assert first["next"].startswith("http://testserver/api/v1/articles/?limit=2&cursor=")

    def test_one_article_with_its_body(self, client, newsroom):
        article = get_json(client, "/api/v1/articles/A1/")
        assert article["body_html"] == Article.objects.get(info_code="A1").body
        assert article["body_text"] == "正文" + article["body_html"].removeprefix("<p>正文").removesuffix("</p>")

    @pytest.mark.parametrize("info_code", ["DRAFT", "LATER", "NOPE", "a b"])
    def test_unknown_or_hidden_articles_are_404_json(self, client, newsroom, info_code):
        error = get_json(client, f"/api/v1/articles/{info_code}/", status=404)
        assert error == {"message": f"no published article {info_code!r}", "detail": f"没有已发布的文章“{info_code}”"}

    @pytest.mark.parametrize(
        ("parameters", "status", "detail"),
        [
            ({"since": "yesterday"}, 400, "参数有误：since 须是 ISO 8601 的日期时间，如 2026-11-26T09:30"),
            ({"until": "2022-02-30"}, 400, "参数有误：until 须是 ISO 8601 的日期时间，如 2026-11-26T09:30"),
            ({"since": "0001-01-01T00:00"}, 400, "since 须在 1900-01-01 到 2999-12-31 之间"),
            ({"limit": 0}, 400, "参数有误：limit 不能小于 1"),
            ({"limit": 1000}, 400, "参数有误：limit 不能大于 100"),
            ({"limit": "ten"}, 400, "参数有误：limit 须是整数"),
            (
                {"market": "moon", "stock": "601601"},
                400,
                "参数有误：market 只能是 sh、sz、hk、nasdaq、nyse、amex、board 之一",
            ),
            ({"market": "sh"}, 400, "market 须与 stock 一起使用"),
            ({"cursor": "not-a-cursor"}, 400, "cursor 不是本 API 给出的游标，请用上一页的 next"),
            ({"category": "a\x00b"}, 400, "参数有误：category 含有不允许的字符"),
            ({"q": "央行\x00"}, 400, "参数有误：q 含有不允许的字符"),
            ({"q": "央" * 101}, 400, "参数有误：q 不能超过 100 个字符"),
            ({"stock": "60 16/01"}, 400, "参数有误：stock 含有不允许的字符"),
            ({"category": "nope"}, 404, "没有分类 nope（或它没有已发布的文章）"),
            ({"tag": "nei-bu"}, 404, "没有标签 nei-bu（或它没有已发布的文章）"),
            ({"stock": "688999"}, 404, "没有股票 688999（或没有提到它的已发布文章）"),
        ],
    )
    def test_bad_parameters_are_clear_json_errors(self, client, newsroom, parameters, status, detail):
        # message as the API always said it (scripts may read it), detail the same in Chinese.
        error = get_json(client, "/api/v1/articles/", status=status, **parameters)
        assert set(error) == {"message", "detail"} and error["message"].isascii() and error["message"]
        assert error["detail"] == detail

    def test_counts_of_categories_tags_and_stocks(self, client, newsroom):
        categories = get_json(client, "/api/v1/categories/")
        tags = get_json(client, "/api/v1/tags/")
        stocks = get_json(client, "/api/v1/stocks/")

        assert {(c["slug"], c["article_count"]) for c in categories} >= {("hongguan", 3), ("shichang", 2)}
        assert {(t["name"], t["article_count"]) for t in tags} == {("宏观", 3), ("港股", 2)}
        assert stocks == [{"market": "sh", "code": "601601", "name": "中国太保", "article_count": 1}]

    def test_query_count_does_not_grow_with_limit(self, client, newsroom, django_assert_num_queries):
        for number in range(30):
            make_article(tags=[f"标签{number}", "宏观"], stocks=[make_stock(f"6000{number:02d}")])
        client.get("/robots.txt")  # the content version's facts, read once per version, are in the cache
        for limit in (1, 35):
            with django_assert_num_queries(3):  # the articles, their tags, their stocks
                assert len(get_json(client, "/api/v1/articles/", limit=limit)["items"]) == limit

    def test_bylines_as_the_article_page_names_them(self, client, newsroom, django_assert_num_queries):
        editor = User.objects.create_user("wangwu", email="wangwu@example.com", last_name="王", first_name="五")
        no_name = User.objects.create_user("zhaoliu")
        Article.objects.filter(info_code="A1").update(authors="张三、李四", responsible_editor=editor)
        Article.objects.filter(info_code="A2").update(responsible_editor=no_name)
        client.get("/robots.txt")  # the content version's facts, read once per version, are in the cache

        with django_assert_num_queries(3):  # the articles with their editors, their tags, their stocks
            items = get_json(client, "/api/v1/articles/")["items"]
        detail = get_json(client, "/api/v1/articles/A1/")

        bylines = [(item["authors"], item["responsible_editor"]) for item in items[:3]]
        assert bylines == [(["张三", "李四"], "王五"), ([], "zhaoliu"), ([], None)]
        assert (detail["authors"], detail["responsible_editor"]) == (["张三", "李四"], "王五")
        page = client.get(Article.objects.get(info_code="A1").get_absolute_url()).content.decode()
        assert "作者：张三、李四" in page and "责任编辑：王五" in page

    def test_conditional_requests_cache_headers_and_cors(self, client, newsroom, django_assert_num_queries):
        response = client.get("/api/v1/articles/", HTTP_ORIGIN="https://quant.example.com")
        assert response["Access-Control-Allow-Origin"] == "*" and response["Cache-Control"] == "public, no-cache"
        assert response["Last-Modified"] and response["ETag"].startswith('W/"')

        with django_assert_num_queries(0):
            again = client.get("/api/v1/articles/", HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304

    @pytest.mark.parametrize(
        "url", ["/api/v1/articles/?limit=2", "/api/v1/articles/A1/", "/api/v1/categories/", "/api/v1/tags/"]
    )
    def test_head_answers_as_get_without_a_body(self, client, newsroom, url):
        got, head = client.get(url), client.head(url)
        assert got.status_code == head.status_code == 200 and got.content and head.content == b""
        assert head["ETag"] == got["ETag"] and head["Content-Type"] == got["Content-Type"]
        assert client.head("/api/v1/articles/NO-SUCH/").status_code == 404

    def test_openapi_document_and_docs_from_our_own_files(self, client):
        document = get_json(client, "/api/v1/openapi.json")
        assert document["openapi"].startswith("3.") and "/api/v1/posts/" in document["paths"]
        docs = client.get("/api/v1/docs").content.decode()
        assert "/static/ninja/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
        assert finders.find("ninja/swagger-ui-bundle.js") and finders.find("ninja/swagger-ui-init.js")


@pytest.fixture
def token():
    return IngestToken.objects.create_token("scraper")


def push(secret, name, body, client=None, **extra):
    client = client or Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    return client.post(
        f"/api/v1/posts/?name={name}", data=body, content_type="application/octet-stream", **headers, **extra
    )


class TestIngest:
    def test_the_outcomes_of_import_posts_over_http(self, token, caplog):
        _, secret = token
        name, text = "2022-01-07-NW1.md", post_text(title='"推送的消息"')
        caplog.set_level(logging.INFO, logger="articles.api")

        created = push(secret, name, text.encode())
        assert created.status_code == 201, created.content
        article = Article.objects.get(info_code="NW1")
        assert created.json() == {
            "outcome": "created",
            "info_code": "NW1",
            "url": f"http://testserver{article.get_absolute_url()}",
            "reason": "",
            "detail": "",
            "warnings": [],
        }
        assert push(secret, name, text.encode()).json()["outcome"] == "unchanged"
        updated = push(secret, name, post_text(title='"更正后的消息"').encode())
        assert (updated.status_code, updated.json()["outcome"]) == (200, "updated")
        Article.objects.filter(info_code="NW1").update(edited_since_import=True)
        conflict = push(secret, name, post_text(title='"又一版"').encode())
        assert conflict.status_code == 409 and "changed in the admin" in conflict.json()["reason"]
        assert conflict.json()["detail"].startswith("导入后已有编辑在后台修改过这篇文章，未覆盖")
        rejected = push(secret, "2022-01-07-NW2.md", b"no front matter")
        assert rejected.status_code == 422 and "front matter" in rejected.json()["reason"]
        assert rejected.json()["detail"] == "没有文件头：文件的第一行不是“---”"

        assert Article.objects.get(info_code="NW1").title == "更正后的消息"
        runs = ImportRun.objects.order_by("id")
        assert {(run.source, run.source_name) for run in runs} == {("api", "scraper")}
        assert [run.result for run in runs][-2:] == ["conflicts", "rejections"]
        assert "ingest token=scraper name=2022-01-07-NW1.md outcome=created" in caplog.text

    def test_what_the_import_changed_is_answered_and_recorded(self, token):
        extra = "source_url: javascript:alert(1)\nresponsible_editor: 钱七\n"
        text = post_text(extra=extra, body="<p>正文</p><script>track()</script>")

        created = push(token[1], "2022-01-07-NW1.md", text.encode())

        assert created.status_code == 201
        warnings = [
            "body: HTML the site does not show was left out: 1 <script>",
            "source link 'javascript:alert(1)' is not a valid URL; left out",
            "responsible editor '钱七' matches no user; left out",
        ]
        assert created.json()["warnings"] == warnings
        run = ImportRun.objects.get()
        assert run.result == "changes" and run.created == 1
        assert [(row.outcome, row.reason, row.article.info_code) for row in run.problems.all()] == [
            ("changed", warning, "NW1") for warning in warnings
        ]

    @pytest.mark.parametrize("secret", [None, "fn_wrong", "revoked"])
    def test_without_a_valid_token_nothing_is_written(self, token, secret):
        if secret == "revoked":
            IngestToken.objects.update(revoked_at=timezone.now())
            secret = token[1]
        response = push(secret, "2022-01-07-NW1.md", post_text().encode())
        assert response.status_code == 401 and response.json() == {
            "message": "a valid ingest token is required: Authorization: Bearer <token>",
            "detail": "需要有效的推送令牌：Authorization: Bearer <令牌>",
        }
        assert not Article.objects.exists()

    @pytest.mark.parametrize("name", ["", "post.txt", "../2022-01-07-X.md", "2022-01-07-..md", "2022-01-07-a b.md"])
    def test_a_missing_or_bad_name_is_400(self, token, name):
        response = push(token[1], name, post_text().encode())
        assert response.status_code == 400 and response.json()["message"].startswith("name")
        assert response.json()["detail"].startswith(
            ("name 须是一篇稿件的文件名", "name 不可用：文件名中没有可用的资讯编号")
        )
        assert not Article.objects.exists()

    def test_over_20_mb_is_413(self, token):
        response = push(token[1], "2022-01-07-BIG.md", b"x" * (20 * 1024 * 1024 + 1))
        assert response.status_code == 413 and "20 MB" in response.json()["message"]
        assert response.json()["detail"] == "一篇稿件不能超过 20 MB"
        assert not ImportRun.objects.exists()

    def test_each_token_is_throttled_in_the_shared_cache(self, token, settings, monkeypatch):
        monkeypatch.setenv("REDIS_URL", redis.worker_url())
        settings.CACHES = {"default": cache_from_environment()}
        settings.INGEST_REQUESTS_PER_MINUTE = 2
        other = IngestToken.objects.create_token("backup-scraper")[1]

        answers = [push(token[1], f"2022-01-07-T{n}.md", post_text().encode()) for n in range(3)]

        assert [answer.status_code for answer in answers] == [201, 201, 429]
        assert answers[-1].json() == {
            "message": "more than 2 posts a minute from scraper",
            "detail": "令牌“scraper”每分钟推送超过 2 篇：请按 Retry-After 的秒数稍后再推送",
        }
        assert 0 < int(answers[-1]["Retry-After"]) <= 60
        assert push(other, "2022-01-07-T9.md", post_text().encode()).status_code == 201
        assert not Article.objects.filter(info_code="T2").exists()

    def test_pushes_go_on_unthrottled_while_redis_is_unreachable(self, token, settings, monkeypatch):
        """The hand-written limiter's counter raised: every push answered an HTML 500."""
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
        settings.CACHES = {"default": cache_from_environment()}
        settings.INGEST_REQUESTS_PER_MINUTE = 2

        answers = [push(token[1], f"2022-01-07-T{n}.md", post_text().encode()) for n in range(3)]

        assert [(answer.status_code, answer.json()["outcome"]) for answer in answers] == [(201, "created")] * 3

    def test_a_push_without_a_length_that_is_not_chunked_is_read_as_what_it_is(self, token):
        """(The chunked push through gunicorn: test_deployment.py.) No length and no chunks: no body."""
        response = Client().generic(
            "POST",
            "/api/v1/posts/?name=2022-01-07-NW1.md",
            HTTP_AUTHORIZATION=f"Bearer {token[1]}",
            HTTP_TRANSFER_ENCODING="chunked",
            CONTENT_LENGTH="",
        )
        assert response.status_code == 411 and "Content-Length" in response.json()["message"]
        assert response.json()["detail"] == "请带上 Content-Length 头发送稿件"
        assert not ImportRun.objects.exists()

    def test_no_csrf_token_is_needed_with_a_bearer_token_and_nothing_is_cached(self, token):
        response = push(token[1], "2022-01-07-NW1.md", post_text().encode(), client=Client(enforce_csrf_checks=True))
        assert response.status_code == 201
        assert "ETag" not in response and "Access-Control-Allow-Origin" not in response


class TestTokens:
    def run_command(self, *arguments):
        stdout, stderr = io.StringIO(), io.StringIO()
        call_command("ingest_token", *arguments, stdout=stdout, stderr=stderr)
        return stdout.getvalue()

    def test_create_prints_the_token_once_and_keeps_only_its_hash(self):
        secret = self.run_command("create", "scraper").strip().splitlines()[-1]

        token = IngestToken.objects.get()
        assert secret.startswith("fn_") and secret not in token.key_hash and len(token.key_hash) == 64
        assert IngestToken.objects.authenticated(secret) == token
        assert push(secret, "2022-01-07-NW1.md", post_text().encode()).status_code == 201
        assert "scraper\tactive\tlast used" in self.run_command("list")

    def test_revoke(self):
        secret = self.run_command("create", "scraper").strip().splitlines()[-1]
        self.run_command("revoke", "scraper")
        assert push(secret, "2022-01-07-NW1.md", post_text().encode()).status_code == 401
        assert "scraper\trevoked" in self.run_command("list")

    @pytest.mark.parametrize(
        ("arguments", "message"), [(["create", "a b"], "名称只能"), (["revoke", "nope"], "no active")]
    )
    def test_clear_errors(self, arguments, message):
        from django.core.management import CommandError

        with pytest.raises(CommandError, match=message):
            self.run_command(*arguments)

    def test_the_admin_shows_tokens_without_secrets_and_revokes_them(self, client, token):
        token_object, secret = token
        client.force_login(User.objects.create_superuser("boss", password="x"))
        listing = client.get("/admin/articles/ingesttoken/").content.decode()
        assert "scraper" in listing and secret not in listing and token_object.key_hash not in listing

        client.post("/admin/articles/ingesttoken/", {"action": "revoke", "_selected_action": [token_object.pk]})

        assert push(secret, "2022-01-07-NW1.md", post_text().encode()).status_code == 401


def test_api_documents_every_operation_in_json(client):
    document = json.loads(client.get("/api/v1/openapi.json").content)
    operations = {(path, method) for path, methods in document["paths"].items() for method in methods}
    assert operations == {
        ("/api/v1/articles/", "get"),
        ("/api/v1/articles/{info_code}/", "get"),
        ("/api/v1/categories/", "get"),
        ("/api/v1/tags/", "get"),
        ("/api/v1/stocks/", "get"),
        ("/api/v1/posts/", "post"),
    }


class TestErrorsAreJson:
    """Every error under /api/ is {"message": ..., "detail": ...} (English, and Chinese), whoever answers it."""

    def test_an_unknown_path_and_a_method_not_allowed(self, client):
        missing = client.get("/api/v1/no-such-thing/")
        not_allowed = client.put("/api/v1/articles/")
        assert (missing.status_code, missing.json()) == (404, {"message": "not found", "detail": "没有这个地址"})
        assert (not_allowed.status_code, not_allowed.json()) == (
            405,
            {"message": "method not allowed", "detail": f"不支持这种请求方法：这里只接受 {not_allowed['Allow']}"},
        )
        assert "GET" in not_allowed["Allow"]

    @pytest.mark.parametrize(
        ("answer", "detail"),
        [
            (HttpResponseForbidden("<h1>CSRF verification failed</h1>"), "没有权限"),
            (HttpResponse("<h1>Payload Too Large</h1>", status=413), "请求的内容太大"),
            (HttpResponse("<h1>I'm a teapot</h1>", status=418), "请求未能完成（HTTP 418）"),
        ],
    )
    def test_any_other_refusal_is_answered_in_chinese_too(self, rf, answer, detail):
        # Django's own (a CSRF failure's 403): no route of ours answers it, but it is JSON all the same.
        response = JsonErrorsMiddleware(lambda request: answer)(rf.post("/api/v1/posts/"))

        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert detail.encode() in response.content
        assert json.loads(response.content) == {"message": answer.reason_phrase.lower(), "detail": detail}

    def test_an_unexpected_exception_is_logged_and_answered_as_json(self, monkeypatch, caplog):
        def broken(*args, **kwargs):
            raise RuntimeError("a fault")

        monkeypatch.setattr("articles.api.reading.item_of", broken)
        make_article()

        response = Client(raise_request_exception=False).get("/api/v1/articles/")

        assert (response.status_code, response.json()) == (
            500,
            {"message": "internal server error", "detail": "服务器出错了，请稍后再试"},
        )
        assert "RuntimeError: a fault" in caplog.text

    def test_every_json_answer_is_utf8_chinese_and_says_so(self, client):
        make_article(info_code="U1", title="央行降准")
        answers = {
            200: client.get("/api/v1/articles/U1/"),
            404: client.get("/api/v1/articles/NOPE/"),
            "router 404": client.get("/api/v1/no-such-thing/"),
            405: client.put("/api/v1/articles/"),
            "openapi": client.get("/api/v1/openapi.json"),
        }
        assert {name: answer["Content-Type"] for name, answer in answers.items()} == dict.fromkeys(
            answers, "application/json; charset=utf-8"
        )
        assert "央行降准".encode() in answers[200].content
        assert "没有已发布的文章".encode() in answers[404].content
        assert "没有这个地址".encode() in answers["router 404"].content
        assert "不支持这种请求方法".encode() in answers[405].content
        assert "金融消息 API".encode() in answers["openapi"].content
        assert not any(b"\\u" in answer.content for answer in answers.values())

    def test_pages_keep_their_html_errors(self, client, db):
        assert client.get("/no-such-page/").headers["Content-Type"].startswith("text/html")
