"""Operations: import runs in the admin, their pruning, and Prometheus metrics."""

import ast
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from articles.models import Article, ImportProblem, ImportRun
from tests.conftest import post_text, run_import
from tests.factories import make_article, make_editor

pytestmark = pytest.mark.django_db
RUNS_URL = "/admin/articles/importrun/"
BASE_DIR = Path(__file__).resolve().parents[1]


def test_the_cron_import_starts_without_the_modules_it_does_not_need():
    """import_posts runs from cron every few minutes: its start-up is most of its time."""
    script = (
        "import sys, django; django.setup(); import articles.management.commands.import_posts; "
        "print(sorted({'ninja', 'pydantic', 'pypinyin', 'jieba', 'articles.admin', 'rich', 'PIL'} "
        "& set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_a_cron_import_of_a_new_post_loads_only_what_it_uses(tmp_path, migrated_sqlite):
    """Libraries' parts the import never uses are loaded when something first does: pypinyin's phrase
    dictionary, bs4's CSS selectors (soupsieve), Django's XML serializer, Pillow."""
    from tests.test_production import production_environment

    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "2026-11-26-NW1.md").write_text(post_text(title='"银行行长：重庆长江大桥"'), encoding="utf-8")
    environment = production_environment(tmp_path, DATABASE_URL=migrated_sqlite(tmp_path / "site.sqlite3"))
    script = f"""
import sys, django
django.setup()
from django.core.management import call_command
call_command("import_posts", {str(tmp_path / "posts")!r}, verbosity=0)
unused = {{"pypinyin.phrases_dict", "soupsieve.css_parser", "charset_normalizer.api", "xml.dom", "xml.sax", "PIL", "ninja", "jieba", "rich"}}
print(sorted(unused & set(sys.modules)))
from django.core import serializers
from articles.models import Article
article = Article.objects.get()
print(article.slug, "<django-objects" in serializers.serialize("xml", [article]))
print(bool(__import__("bs4").BeautifulSoup(article.body, "lxml").select("p")))
"""
    ran = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, env=environment, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-3:] == ["[]", "yin-hang-hang-zhang-chong-qing-chang-jiang-da-qiao True", "True"]


def test_a_deferred_module_is_imported_when_first_used():
    script = (
        "import sys; from finews import imports; imports.defer('wave'); import wave; "
        "print(type(sys.modules['wave']).__name__); "
        "opener = wave.open; print(type(sys.modules['wave']).__name__, opener is sys.modules['wave'].open)"
    )
    ran = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, capture_output=True, text=True, check=True)
    assert ran.stdout.split() == ["_Deferred", "module", "True"]


@pytest.fixture
def troubled_run(write_post):
    """One run of the import over a good post, a post without front matter and one an editor changed."""
    write_post("2022-01-07-GOOD1.md", post_text(title='"好消息"'))
    edited = write_post("2022-01-07-EDIT1.md", post_text(title='"编辑改过"'))
    run_import(edited, "--no-record")
    Article.objects.filter(info_code="EDIT1").update(edited_since_import=True)
    edited.write_text(post_text(title='"新版本"'), encoding="utf-8")
    write_post("2022-01-07-BAD1.md", "没有头信息")
    succeeded, stdout, stderr = run_import(edited.parent)
    assert not succeeded
    return ImportRun.objects.get()


class TestImportRuns:
    def test_a_run_records_its_counts_and_problem_files(self, troubled_run):
        run = troubled_run
        assert run.source == ImportRun.Source.COMMAND and run.result == ImportRun.Result.REJECTIONS
        assert (run.created, run.updated, run.unchanged, run.conflict, run.rejected) == (1, 0, 0, 1, 1)
        assert run.started_at <= run.finished_at
        problems = {problem.info_code: problem for problem in run.problems.all()}
        assert problems["BAD1"].outcome == "rejected" and "front matter" in problems["BAD1"].reason
        assert problems["BAD1"].path.endswith("2022-01-07-BAD1.md") and problems["BAD1"].article is None
        assert problems["EDIT1"].outcome == "conflict"
        assert problems["EDIT1"].article == Article.objects.get(info_code="EDIT1")

    def test_dry_runs_and_unrecorded_runs_leave_no_record(self, write_post):
        path = write_post("2022-01-07-A1.md", post_text())
        run_import(path, "--dry-run")
        run_import(path, "--no-record")
        assert not ImportRun.objects.exists()

    def test_a_clean_run_is_ok(self, corpus_dir, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text()))
        assert ImportRun.objects.get().result == ImportRun.Result.OK

    def test_editors_read_runs_filter_them_and_search_problem_files(self, client, troubled_run, write_post):
        run_import(write_post("2022-01-08-LATER1.md", post_text()))
        client.force_login(make_editor())

        listing = client.get(RUNS_URL).content.decode()
        assert len(BeautifulSoup(listing, "lxml").select("#result_list tbody tr")) == 2
        with_rejections = client.get(RUNS_URL, {"result__exact": "rejections"}).content.decode()
        assert len(BeautifulSoup(with_rejections, "lxml").select("#result_list tbody tr")) == 1
        for term in ("BAD1", "2022-01-07-EDIT1.md"):
            found = BeautifulSoup(client.get(RUNS_URL, {"q": term}).content.decode(), "lxml")
            assert [row.select_one("a")["href"].split("?")[0] for row in found.select("#result_list tbody tr")] == [
                f"{RUNS_URL}{troubled_run.pk}/change/"
            ], term

    def test_a_run_s_page_lists_its_problems_and_links_a_conflict_to_its_article(self, client, troubled_run):
        client.force_login(make_editor())

        page = client.get(f"{RUNS_URL}{troubled_run.pk}/change/")

        assert page.status_code == 200
        content = page.content.decode()
        assert "2022-01-07-BAD1.md" in content and "no front matter" in content
        article = Article.objects.get(info_code="EDIT1")
        assert f'href="/admin/articles/article/{article.pk}/change/"' in content

    def test_runs_are_read_only_even_for_editors(self, client, troubled_run):
        client.force_login(make_editor())
        assert client.get(f"{RUNS_URL}add/").status_code == 403
        client.post(f"{RUNS_URL}{troubled_run.pk}/change/", {"result": "ok"})
        assert ImportRun.objects.get().result == ImportRun.Result.REJECTIONS

    def test_old_runs_are_pruned_with_their_problems(self, troubled_run):
        ImportRun.objects.filter(pk=troubled_run.pk).update(started_at=timezone.now() - dt.timedelta(days=31))
        recent = ImportRun.objects.create(source=ImportRun.Source.COMMAND, started_at=timezone.now())

        call_command("prune_import_runs", "--days", "30", stdout=open(os.devnull, "w"))  # noqa: SIM115

        assert list(ImportRun.objects.all()) == [recent] and not ImportProblem.objects.exists()


def _post(title, extra="", body="<p>正文</p>", date="2022-01-07 12:35:20 +0800"):
    return post_text(title=f'"{title}"', extra=extra, body=body, date=date).encode()


_STRAY_BYTE = _post("错字", body="<p>停牌</p>").replace("停牌".encode(), "停".encode() + b"\x92" + "牌".encode())
_LONG_AUTHORS = [f"作者{number:02d}{'名' * 40}" for number in range(5)]
_LONG_STOCK_NAME = (
    f'<p><a href="http://quote.eastmoney.com/unify/r/1.601601" data-code="1,601601">{"太保" * 51}</a></p>'
)
_SCRIPTED = (
    '<p onclick="track()">正文<script>track()</script></p><iframe src="https://video.example/1"></iframe>'
    "<script>track()</script>"
)
# Every warning the import gives (the function that appends it), from a post that makes it, and
# what an editor reads of it in 导入记录.
WARNING_CASES = [
    ("frontmatter.decode_post", "2022-01-07-BYTE1.md", _STRAY_BYTE,
     "第 8 行第 5 列的字节 0x92 不是文字，已换成“\ufffd”：请对照原稿改正这个字"),
    ("frontmatter.decode_post", "2022-01-07-CONTROL1.md", _post("控制符", body="<p>正\x01文\x7f</p>"),
     "文件中有 2 个控制字符（看不见，也不是文字），已去掉"),
    ("labels.label_with_warnings", "2022-01-07-RLO1.md", _post("央行\u202e降准"),
     "标题“央行降准”中看不见的格式字符（零宽空格、文字方向控制符等）已去掉"),
    ("labels.label_with_warnings", "2022-01-07-TAG1.md", _post("长标签", f"tags: [{'标' * 101}]\n"),
     f"以“{'标' * 60}”开头的标签超过 100 个字，超出的部分未导入：请在后台核对"),
    ("labels.label_with_warnings", "2022-01-07-DIGEST1.md", _post("长摘要", body=f"> {'摘' * 2001}\n\n<p>正文</p>"),
     f"以“{'摘' * 60}”开头的摘要超过 2000 个字，超出的部分未导入：请在后台核对"),
    ("labels.label_with_warnings", "2022-01-07-NAME1.md", _post("长股名", body=_LONG_STOCK_NAME),
     f"股票 601601（上海）名称“{'太保' * 30}”超过 100 个字，超出的部分未导入：请在后台核对"),
    ("body._note_left_out", "2022-01-07-HTML1.md", _post("脚本", body=_SCRIPTED),
     "正文中有本站不显示的 HTML，未导入：2 个 <script>（脚本）、1 个 <iframe>（内嵌网页）、"
     "1 处 onclick 属性（事件脚本）。请对照原稿核对正文，需要的内容请在后台补上"),
    ("body._note_flattened_digest", "2022-01-07-DIGEST2.md", _post("摘要格式", body="> **重要**提示\n\n<p>正文</p>"),
     "摘要只能是纯文字，其中的格式已去掉（文字保留）：1 个 <strong>（加粗）。链接的地址和图片没有保留，需要的请在后台补进正文"),
    ("frontmatter.decode_post", "2022-01-07-GBK1.md", post_text(title='"国标码"').encode("gbk"),
     "文件是 GBK 编码（不是 UTF-8），已按 GBK 读入：请看一眼文字有没有乱码"),
    ("frontmatter.decode_post", "2022-01-07-CUT1.md", _post("半个字") + "字".encode()[:2],
     "文件在一个字的中间结束（可能没有传完），这半个字未导入：请对照原稿核对文章结尾"),
    ("posts.parse_post", "2022-01-07-DATE1.md", _post("坏日期", date="下周一"),
     "文件头的日期“下周一”无法识别，已用文件名中的日期（当天 0 点）作发布时间：请核对发布时间"),
    ("posts.parse_post", "2022-01-07-DATE2.md", _post("没有日期", date=""),
     "文件头没有日期，已用文件名中的日期（当天 0 点）作发布时间：请核对发布时间"),
    ("posts._add_front_matter_facts", "2022-01-07-STOCK1.md", _post("股票", "stocks: [sh601601]\n"),
     "文件头中的股票“sh601601”不是可识别的市场和代码，未导入：如需关联，请在后台添加"),
    ("posts._authors", "2022-01-07-AUTHOR1.md", _post("作者多", f"authors: [{', '.join(_LONG_AUTHORS)}]\n"),
     f"作者“{_LONG_AUTHORS[4]}”超出作者一栏的 200 个字，未导入：请在后台核对作者"),
    ("posts._usable_url", "2022-01-07-LINK1.md", _post("链接", "source_url: javascript:alert(1)\n"),
     "原文链接“javascript:alert(1)”不是有效的网址，未导入：如有正确的链接，请在后台填写"),
    ("importer._name_responsible_editor", "2022-01-07-EDITOR1.md", _post("没这人", "responsible_editor: 钱七\n"),
     "没有名为“钱七”的用户，未设为责任编辑：请先添加这位编辑，或在后台设置责任编辑"),
    ("importer._name_responsible_editor", "2022-01-07-EDITOR2.md", _post("同名", "responsible_editor: 王五\n"),
     "有不止一位用户名为“王五”，未设为责任编辑：请在后台设置责任编辑"),
    ("importer._join", "2022-01-07-NW1001.md", _post("同一条"),
     "与资讯 1001 是同一条新闻，但那篇已有编辑修改过，未自动合并：如是同一条，请在后台的“同一新闻”里选它"),
]  # fmt: skip
# The warnings only an import with --force gives: a file, and the file imported before it.
FORCED_WARNING_CASES = [
    ("importer._from_another_file", "2022-01-08-NW2001.md", "2022-01-07-NW2001.md",
     "这篇文章此前由另一个文件 {} 导入（资讯编号相同），已按 --force 用本文件更新：请核对"),
]  # fmt: skip


def _warning_producers():
    """``module.function`` of each place in articles/intake that adds to a list named ``warnings``
    (``warnings.append(…)``, ``warnings += …``), once per place."""
    places = []
    for module in sorted((BASE_DIR / "articles" / "intake").glob("*.py")):
        for function in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(function, ast.FunctionDef):
                places += [f"{module.stem}.{function.name}" for node in ast.walk(function) if _adds_a_warning(node)]
    return places


def _adds_a_warning(node):
    def named_warnings(target):
        return getattr(target, "id", getattr(target, "attr", None)) == "warnings"

    if isinstance(node, ast.AugAssign):
        return named_warnings(node.target)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("append", "extend", "insert")
        and named_warnings(node.func.value)
    )


class TestImportChanges:
    """What the import changed in, or left out of, a file it took is in 导入记录, in Chinese."""

    def test_every_import_warning_is_shown_in_chinese_on_the_run_s_page(self, client, write_post):
        cases = [*WARNING_CASES, *FORCED_WARNING_CASES]
        without_a_case = Counter(_warning_producers()) - Counter(producer for producer, *_ in cases)
        assert not without_a_case, f"add each to WARNING_CASES, and its Chinese to reasons.py: {without_a_case}"
        lead = write_post("2022-01-07-1001.md", _post("同一条"))
        edited = write_post("2022-01-07-EDIT1.md", _post("编辑改过"))
        run_import(lead.parent, "--no-record")
        Article.objects.update(edited_since_import=True)
        # Not written, so nothing of it changed: its warning is not recorded, its conflict is.
        edited.write_bytes(_post("新版本", "responsible_editor: 钱七\n"))
        for number in (1, 2):
            User.objects.create_user(f"wangwu{number}", last_name="王", first_name="五")
        for _, name, raw, _ in WARNING_CASES:
            write_post(name, raw)

        succeeded, stdout, stderr = run_import(lead.parent)

        assert succeeded, stderr
        run = ImportRun.objects.get()
        client.force_login(make_editor())
        page = BeautifulSoup(client.get(f"{RUNS_URL}{run.pk}/change/").content.decode(), "lxml")
        shown = [cell.get_text(strip=True) for cell in page.select("td.field-reason_in_chinese")]
        conflict = "导入后已有编辑在后台修改过这篇文章，未覆盖（确需覆盖，导入时加 --force）"
        assert sorted(shown) == sorted([conflict] + [chinese for *_, chinese in WARNING_CASES])
        outcomes = [cell.get_text(strip=True) for cell in page.select("td.field-outcome")]
        assert sorted(outcomes) == ["冲突"] + ["已导入，有改动"] * len(WARNING_CASES)

    @pytest.mark.parametrize(("producer", "name", "before", "chinese"), FORCED_WARNING_CASES)
    def test_every_forced_import_warning_is_shown_in_chinese(self, client, write_post, producer, name, before, chinese):
        run_import(write_post(before, _post("先导入的")), "--no-record")
        path = write_post(name, _post("后来的"))

        succeeded, stdout, stderr = run_import(path, "--force")

        assert succeeded, stderr
        client.force_login(make_editor())
        page = client.get(f"{RUNS_URL}{ImportRun.objects.get().pk}/change/").content.decode()
        shown = [cell.get_text(strip=True) for cell in BeautifulSoup(page, "lxml").select("td.field-reason_in_chinese")]
        assert shown == [chinese.format(path.parent / before)]

    def test_a_file_taken_with_changes_has_a_row_per_change_and_counts_once(self, client, write_post):
        extra = "source_url: javascript:alert(1)\nresponsible_editor: 钱七\n"
        run_import(write_post("2022-01-07-TWO1.md", post_text(extra=extra)))
        run_import(write_post("2022-01-08-CLEAN1.md", post_text()))

        changed, clean = ImportRun.objects.order_by("started_at", "id")
        assert (changed.result, changed.created, clean.result) == ("changes", 1, "ok")
        article = Article.objects.get(info_code="TWO1")
        assert [(row.outcome, row.info_code, row.article) for row in changed.problems.all()] == [
            ("changed", "TWO1", article)
        ] * 2
        metrics = Client().get("/metrics").content.decode()
        assert 'finews_import_files_total{outcome="created"} 2.0' in metrics
        assert 'outcome="changed"' not in metrics
        client.force_login(make_editor())
        listing = BeautifulSoup(client.get(RUNS_URL, {"result__exact": "changes"}).content.decode(), "lxml")
        assert [row.select_one("a")["href"].split("?")[0] for row in listing.select("#result_list tbody tr")] == [
            f"{RUNS_URL}{changed.pk}/change/"
        ]
        page = client.get(f"{RUNS_URL}{changed.pk}/change/").content.decode()
        assert page.count(f'<a href="/admin/articles/article/{article.pk}/change/">导入的文章</a>') == 2

    def test_a_run_s_page_names_each_file_once_above_its_rows(self, client, write_post):
        extra = "source_url: javascript:alert(1)\nresponsible_editor: 钱七\n"
        changed = write_post("2022-01-07-TWO1.md", post_text(extra=extra))
        stock = write_post("2022-01-07-NAME1.md", _post("长股名", body=_LONG_STOCK_NAME))
        write_post("2022-01-07-BAD1.md", "没有头信息")
        run_import(changed.parent)
        run = ImportRun.objects.get()
        client.force_login(make_editor())

        html = client.get(f"{RUNS_URL}{run.pk}/change/").content.decode()

        page = BeautifulSoup(html, "lxml")
        files = {
            group.select_one("tr.import-file th").get_text(" ", strip=True): len(group.select("tr.form-row"))
            for group in page.select(".import-problems tbody")
        }
        assert files == {
            f"{changed} 资讯编号 TWO1": 2,
            f"{stock} 资讯编号 NAME1": 1,
            f"{changed.parent / '2022-01-07-BAD1.md'} 资讯编号 BAD1": 1,
        }
        assert html.count(str(changed)) == 1
        assert {header["colspan"] for header in page.select("tr.import-file th")} == {"3"}  # across every column
        assert not page.select("td.original")  # Django's grey line above each row, repeating the path
        for cell in page.select("td.field-outcome, td.field-article_link"):
            assert "import-nowrap" in cell["class"]
        assert "import-nowrap" not in page.select_one("td.field-reason_in_chinese")["class"]
        stylesheet = (BASE_DIR / "static/admin/desk.css").read_text()
        assert "/static/admin/desk.css" in html
        assert ".import-problems .import-nowrap { white-space: nowrap;" in stylesheet
        reasons = [cell.get_text(strip=True) for cell in page.select("td.field-reason_in_chinese")]
        assert any(reason.startswith("股票 601601（上海）名称“太保") for reason in reasons)


class TestMetrics:
    def scrape(self, **headers):
        return Client().get("/metrics", **headers)

    def sample(self, text, name, **labels):
        """The value of the sample ``name`` with exactly ``labels`` in a Prometheus text exposition."""
        for line in text.splitlines():
            match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
            if match and match[1] == name and dict(re.findall(r'(\w+)="([^"]*)"', match[2] or "")) == labels:
                return float(match[3])
        return None

    def test_served_to_the_allowed_addresses_only(self, settings):
        settings.TRUSTED_PROXIES = ["127.0.0.1"]
        assert self.scrape().status_code == 200  # 127.0.0.1, straight to gunicorn
        assert self.scrape(REMOTE_ADDR="203.0.113.5").status_code == 404
        # Through the proxies on this host: the client's address is the last one no trusted proxy has.
        assert self.scrape(HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 404
        assert self.scrape(HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.5").status_code == 404
        assert self.scrape(HTTP_X_FORWARDED_FOR="203.0.113.5, 127.0.0.1").status_code == 404
        settings.METRICS_ALLOWED_IPS = ["10.1.2.0/24"]
        assert self.scrape(REMOTE_ADDR="10.1.2.3").status_code == 200
        assert self.scrape(REMOTE_ADDR="10.1.3.3").status_code == 404

    def test_answered_whatever_the_host_and_over_plain_http(self, settings):
        """Prometheus names its target (127.0.0.1:8000) as the Host; production redirects to HTTPS."""
        settings.ALLOWED_HOSTS = ["finews.example.com"]
        settings.SECURE_SSL_REDIRECT = True
        assert self.scrape(HTTP_HOST="127.0.0.1:8000").status_code == 200
        assert Client().get("/healthz", HTTP_HOST="127.0.0.1").json()["status"] == "ok"
        # Every other path keeps its host validation.
        assert Client().get("/robots.txt", HTTP_HOST="127.0.0.1").status_code == 400

    def test_imports_articles_and_the_last_import(self, troubled_run):
        text = self.scrape().content.decode()

        assert self.sample(text, "finews_import_files_total", outcome="rejected") == 1
        assert self.sample(text, "finews_import_files_total", outcome="conflict") == 1
        assert self.sample(text, "finews_import_files_total", outcome="created") == 1  # not the unrecorded run's
        assert self.sample(text, "finews_import_last_success_timestamp_seconds") == pytest.approx(
            troubled_run.finished_at.timestamp()
        )
        assert self.sample(text, "finews_articles_published") == 2

    def test_import_counts_survive_pruning(self, troubled_run):
        ImportRun.objects.all().delete()
        assert self.sample(self.scrape().content.decode(), "finews_import_files_total", outcome="rejected") == 1

    def test_requests_page_cache_and_search(self, client):
        article = make_article()
        before = self.scrape().content.decode()
        for _ in range(3):
            client.get(article.get_absolute_url())
        client.get("/search/?q=测试")
        after = self.scrape().content.decode()

        def grew(name, **labels):
            return (self.sample(after, name, **labels) or 0) - (self.sample(before, name, **labels) or 0)

        assert grew("finews_http_requests_total", view="articles:article", method="GET", status="200") == 1
        assert grew("finews_http_requests_total", view="page-cache", method="GET", status="200") == 2
        for number in range(3):
            client.generic(f"WORD{number}", "/robots.txt")
        assert (
            self.sample(
                self.scrape().content.decode(),
                "finews_http_requests_total",
                view="robots",
                method="other",
                status="405",
            )
            >= 3
        )
        assert grew("finews_page_cache_requests_total", result="miss") == 1
        assert grew("finews_page_cache_requests_total", result="hit") == 2
        assert grew("finews_search_duration_seconds_count") == 1
        assert grew("finews_http_request_duration_seconds_count", view="articles:search") == 1


def requests_counted(text, *views):
    """How many GETs answered 200 the /metrics ``text`` counts for ``views`` together."""
    return sum(
        TestMetrics().sample(text, "finews_http_requests_total", view=view, method="GET", status="200") or 0
        for view in views
    )


def metrics_of(base_url):
    return urllib.request.urlopen(f"{base_url}/metrics", timeout=10).read().decode()


CATEGORY_INDEX = ("articles:category-index", "page-cache")  # rendered, or answered from the page cache


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses a SQLite file of its own; runs once, in the SQLite pass"
)
def test_metrics_add_up_every_gunicorn_worker(site_server):
    # The folder is named only to look into it; gunicorn makes one of its own otherwise.
    server = site_server(sample_posts=True, PROMETHEUS_MULTIPROC_DIR="{folder}/prometheus")
    before = metrics_of(server.url)
    # A request sent by halves holds one worker, so the others are served by the second one.
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as held:
        held.sendall(b"GET /category/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.5)
        for _ in range(20):
            urllib.request.urlopen(f"{server.url}/category/", timeout=10).read()
        held.sendall(b"Connection: close\r\n\r\n")
        assert held.makefile("rb").readline().startswith(b"HTTP/1.1 200")
    text = metrics_of(server.url)
    processes = {name.rsplit("_", 1)[-1] for name in os.listdir(server.folder / "prometheus")}

    assert len(processes) >= 2, f"one worker served every request: {processes}"
    assert requests_counted(text, *CATEGORY_INDEX) - requests_counted(before, *CATEGORY_INDEX) == 21
    samples = list((BASE_DIR / "sample_posts" / "_posts").iterdir())
    published = [path for path in samples if "published: false" not in path.read_text(encoding="utf-8")]
    assert TestMetrics().sample(text, "finews_articles_published") == len(published) > 0


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses a SQLite file of its own; runs once, in the SQLite pass"
)
def test_metrics_count_under_gunicorn_with_no_folder_given(site_server):
    server = site_server(sample_posts=True)
    before = metrics_of(server.url)
    for _ in range(3):
        urllib.request.urlopen(f"{server.url}/category/", timeout=10).read()

    assert requests_counted(metrics_of(server.url), *CATEGORY_INDEX) - requests_counted(before, *CATEGORY_INDEX) == 3
