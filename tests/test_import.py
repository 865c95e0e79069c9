import contextlib
import datetime as dt
import functools
import json
import os
import re
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from articles.intake import frontmatter
from articles.intake.frontmatter import decode_post, split_front_matter
from articles.intake.reasons import in_chinese
from articles.models import Article, Category, ImportProblem, ImportRun, Market, StockReference, Tag
from tests.conftest import BROKEN_POST, post_text, run_import

BASE_DIR = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.django_db


def only_article():
    assert Article.objects.count() == 1
    return Article.objects.get()


def test_every_post_but_the_broken_one_is_imported(corpus_dir):
    succeeded, stdout, stderr = run_import(corpus_dir)

    post_count = len(list(corpus_dir.glob("*.md")))
    assert Article.objects.count() == post_count - 1
    assert not succeeded, "a rejected file must make the command fail"
    assert f"rejected {corpus_dir / BROKEN_POST}: empty title" in stderr
    assert f"{post_count - 1} created" in stdout and "1 rejected" in stdout
    assert stderr.splitlines()[-1].startswith(f"1 of {post_count} files were rejected")
    # East Money's own markup, which the allow-list takes out, only styled the text: no warning.
    east_money = "".join(path.read_text(encoding="utf-8") for path in corpus_dir.glob("*.md"))
    for styling in ('<span web="1" href=', 'class="em_stock_key_common"', "<center>", ' style="border:'):
        assert styling in east_money
    assert "warning" not in stderr and not ImportProblem.objects.filter(outcome="changed").exists()


def test_a_dry_run_does_not_point_to_an_import_record_it_did_not_write(corpus_dir):
    succeeded, stdout, stderr = run_import(corpus_dir, "--dry-run")

    assert not succeeded and "Dry run, nothing written" in stdout
    assert not ImportRun.objects.exists()
    assert "were rejected (each is named above with its reason): exit status 1" in stderr
    assert "导入记录" not in stderr


class TestCorpusImport:
    """Every test here reads the corpus imported once for the class (see conftest)."""

    def test_seed_post(self, imported_corpus):
        article = Article.objects.get(info_code="NW202201072239950893")

        assert article.title == "“太保服务”质量行业认可 中国太保以优质服务构建差异化竞争能力"
        assert article.category.name == "cailianshe"
        assert article.category.title == "财联社"
        assert list(article.tags.names()) == ["财联社新闻"]
        assert {(s.code, s.market) for s in article.stocks.all()} == {
            ("601601", Market.SHANGHAI),
            ("02601", Market.HONG_KONG),
        }
        assert article.published_at == dt.datetime(2022, 1, 7, 4, 35, 20, tzinfo=dt.UTC)
        assert article.source_name == "财联社"
        assert article.status == Article.Status.PUBLISHED
        assert "EM_StockImg" not in article.body and "webquoteklinepic" not in article.body
        assert "NewsShare" not in article.body and "返回" not in article.body
        assert "备受关注的2021年上半年保险服务质量指数" in article.body

    def test_reimport_changes_nothing(self, imported_corpus):
        before = {a.info_code: (a.updated_at, a.body) for a in Article.objects.all()}

        succeeded, stdout, stderr = run_import(imported_corpus)

        assert {a.info_code: (a.updated_at, a.body) for a in Article.objects.all()} == before
        assert f"{len(before)} unchanged" in stdout and "0 created" in stdout

    def test_digest_becomes_the_summary_and_is_not_repeated(self, imported_corpus):
        article = Article.objects.get(info_code="202205302396671645")

        assert article.summary.startswith("近日，加拿大主权财富基金")
        assert not article.body.startswith("<blockquote")
        assert article.source_url == "http://finance.eastmoney.com/news/1353,202205302396671645.html"
        assert article.source_name == "中国证券报"

    def test_links_in_the_source_line_are_not_stock_references(self, imported_corpus):
        article = Article.objects.get(info_code="202205302396671645")
        codes = {s.code for s in article.stocks.all()}

        assert {"00700", "000333", "BABA", "PDD", "600519"} <= codes
        assert "BK0473" not in codes
        assert StockReference.objects.get(code="00700", market=Market.HONG_KONG).name == "腾讯控股"

    def test_duplicate_news_in_two_categories_are_two_articles(self, imported_corpus):
        emnews = Article.objects.get(info_code="202205302396671645")
        paper = Article.objects.get(info_code="NW202205302396671645")

        assert emnews.category.name == "emnews" and paper.category.name == "zhongguozhengquanbao"

    def test_crlf_body_is_clean(self, imported_corpus):
        article = Article.objects.get(info_code="NW202201072239307540")

        assert "\r" not in article.body and "\r" not in article.title

    def test_info_code_is_what_follows_the_date(self, imported_corpus):
        assert Article.objects.get(info_code="init").title == "开站大吉"


class TestIncrementalImport:
    def test_changed_file_updates_its_article(self, write_post):
        path = write_post("2022-01-07-NW1.md", post_text(body="<p>第一版</p>"))
        run_import(path)
        path.write_text(post_text(body="<p>第二版</p>"), encoding="utf-8")

        succeeded, stdout, stderr = run_import(path)

        assert succeeded and "1 updated" in stdout
        assert only_article().body == "<p>第二版</p>"

    def test_editor_changes_are_not_overwritten_without_force(self, write_post):
        path = write_post("2022-01-07-NW1.md", post_text(body="<p>第一版</p>"))
        run_import(path)
        Article.objects.update(body="<p>编辑改过</p>", edited_since_import=True)
        path.write_text(post_text(body="<p>第二版</p>"), encoding="utf-8")

        succeeded, stdout, stderr = run_import(path)
        assert f"conflict {path}" in stderr and "1 conflict" in stdout
        assert only_article().body == "<p>编辑改过</p>"

        succeeded, stdout, stderr = run_import(path, "--force")
        assert "1 updated" in stdout
        assert only_article().body == "<p>第二版</p>"
        assert not only_article().edited_since_import

    def test_unchanged_file_of_an_edited_article_is_not_a_conflict(self, write_post):
        path = write_post("2022-01-07-NW1.md", post_text())
        run_import(path)
        Article.objects.update(edited_since_import=True)

        succeeded, stdout, stderr = run_import(path)

        assert succeeded and "1 unchanged" in stdout and "conflict" not in stderr

    def test_dry_run_writes_nothing(self, write_post):
        path = write_post("2022-01-07-NW1.md", post_text())

        succeeded, stdout, stderr = run_import(path, "--dry-run")

        assert succeeded and "Dry run" in stdout and "1 created" in stdout
        assert not Article.objects.exists() and not Category.objects.exists()

    def test_one_bad_file_does_not_stop_the_others(self, write_post):
        write_post("2022-01-07-A1.md", post_text())
        write_post("2022-01-07-B2.md", "no front matter at all")
        write_post("2022-01-07-C3.md", post_text(title='"另一篇"'))

        succeeded, stdout, stderr = run_import(write_post("x.txt", "").parent)

        assert not succeeded
        assert "B2.md: no front matter" in stderr
        assert set(Article.objects.values_list("info_code", flat=True)) == {"A1", "C3"}

    def test_a_file_that_would_blank_an_article_is_refused(self, write_post):
        path = write_post("2022-01-07-NW1.md", post_text(body="<p>正文</p>"))
        run_import(path)
        path.write_text(post_text(body=""), encoding="utf-8")

        succeeded, stdout, stderr = run_import(path)

        assert not succeeded and "would blank" in stderr
        assert only_article().body == "<p>正文</p>"

    def test_missing_path_is_reported(self, tmp_path):
        succeeded, stdout, stderr = run_import(tmp_path / "nope")

        assert not succeeded and "no such file or folder" in stderr

    def test_other_files_in_a_folder_are_ignored(self, write_post):
        write_post("notes.txt", "not a post")
        write_post("2022-01-07-A1.markdown", post_text())
        write_post("2022-01-07-A2.html", post_text())

        succeeded, stdout, stderr = run_import(write_post("x.png", b"").parent)

        assert succeeded and "2 created" in stdout


class TestTheSameInfoCodeInAnotherFile:
    """Two files of one info code (2022-01-07-NW1.md, then 2022-01-08-NW1.md, or the same code in
    another folder) are a conflict to look at: the second neither replaces the first silently nor
    flips the article back and forth on every import of either."""

    @pytest.fixture
    def write_post(self, write_post, tmp_path):
        def write(name, text):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            return write_post(name, text)

        return write

    def test_another_file_of_an_imported_info_code_is_a_conflict_naming_both(self, write_post):
        first = write_post("a/_posts/2022-01-07-NW1.md", post_text(title='"第一篇"'))
        second = write_post("b/_posts/2022-01-08-NW1.md", post_text(title='"第二篇"', date="2022-01-08 09:00:00 +0800"))
        run_import(first.parent)

        for _ in range(2):
            succeeded, stdout, stderr = run_import(second.parent)

            assert succeeded and "0 updated" in stdout and "1 conflict" in stdout
            assert f"conflict {second}" in stderr and str(first) in stderr
            article = only_article()
            assert (article.title, article.source_path) == ("第一篇", str(first))
            assert article.published_at == dt.datetime(2022, 1, 7, 4, 35, 20, tzinfo=dt.UTC)
        assert "1 unchanged" in run_import(first.parent)[1]

        problem = ImportProblem.objects.filter(outcome="conflict").latest("pk")
        assert (problem.info_code, problem.article) == ("NW1", article)
        assert in_chinese(problem.reason) == (
            f"这篇文章此前由另一个文件 {first} 导入（资讯编号相同），本文件未导入："
            "请核对两个文件（确需用本文件更新这篇文章，导入时加 --force）"
        )

    def test_two_files_of_one_info_code_in_one_run(self, write_post):
        first = write_post("2022-01-07-NW1.md", post_text(title='"第一篇"'))
        second = write_post("2022-01-08-NW1.md", post_text(title='"第二篇"'))

        succeeded, stdout, stderr = run_import(first.parent)

        assert succeeded and "1 created" in stdout and "1 conflict" in stdout
        assert f"conflict {second}" in stderr and str(first) in stderr
        assert only_article().title == "第一篇"

    def test_force_takes_the_other_file_and_says_which_it_replaced(self, write_post):
        first = write_post("a/2022-01-07-NW1.md", post_text(title='"第一篇"'))
        second = write_post("b/2022-01-08-NW1.md", post_text(title='"第二篇"'))
        run_import(first)

        succeeded, stdout, stderr = run_import(second, "--force")

        assert succeeded and "1 updated" in stdout
        assert f"warning {second}: its info code's article was imported from another file, {first}" in stderr
        assert (only_article().title, only_article().source_path) == ("第二篇", str(second))
        (problem,) = ImportProblem.objects.filter(outcome="changed")
        assert in_chinese(problem.reason) == (
            f"这篇文章此前由另一个文件 {first} 导入（资讯编号相同），已按 --force 用本文件更新：请核对"
        )

    def test_a_renamed_post_updates_its_article_and_says_which_file_it_was(self, write_post):
        first = write_post("2022-01-07-NW1.md", post_text(title='"第一篇"'))
        run_import(first.parent)
        second = write_post("2022-01-08-NW1.md", post_text(title='"日期改正后"', date="2022-01-08 09:00:00 +0800"))
        first.unlink()  # the operator corrected the date in the post's name

        succeeded, stdout, stderr = run_import(second.parent)

        assert succeeded and "1 updated" in stdout and "conflict" not in stderr
        assert (
            f"warning {second}: its info code's article was imported from {first}, which is no longer there" in stderr
        )
        assert (only_article().title, only_article().source_path) == ("日期改正后", str(second))
        (problem,) = ImportProblem.objects.filter(outcome="changed")
        assert in_chinese(problem.reason) == (
            f"这篇文章此前由文件 {first} 导入，该文件已不在原处（改名或移走），已用本文件更新：请核对"
        )
        assert "1 unchanged" in run_import(second.parent)[1]

    def test_a_post_renamed_as_it_was_is_its_article_s_file_from_then_on(self, write_post):
        first = write_post("a/2022-01-07-NW1.md", post_text(title='"第一篇"'))
        run_import(first.parent)
        renamed = write_post("a/2022-01-08-NW1.md", first.read_text(encoding="utf-8"))
        first.unlink()

        succeeded, stdout, _ = run_import(renamed.parent)

        assert succeeded and "1 unchanged" in stdout and only_article().source_path == str(renamed)
        other = write_post("b/2022-01-09-NW1.md", post_text(title='"另一篇"'))
        succeeded, stdout, stderr = run_import(other.parent)
        assert "1 conflict" in stdout and str(renamed) in stderr and only_article().title == "第一篇"

    def test_a_gone_file_imported_by_a_relative_path_is_not_taken_for_a_rename(self, tmp_path, write_post, monkeypatch):
        first = write_post("2022-01-07-NW1.md", post_text(title='"第一篇"'))
        monkeypatch.chdir(tmp_path)
        run_import("2022-01-07-NW1.md")  # stored as given: relative to this folder only
        second = write_post("b/2022-01-08-NW1.md", post_text(title='"第二篇"'))
        first.unlink()
        monkeypatch.chdir(second.parent)

        succeeded, stdout, _ = run_import(second)

        assert "1 conflict" in stdout and only_article().title == "第一篇"

    def test_the_same_file_by_another_path_is_the_same_file(self, tmp_path, write_post, monkeypatch):
        path = write_post("2022-01-07-NW1.md", post_text(body="<p>第一版</p>"))
        monkeypatch.chdir(tmp_path)
        run_import("2022-01-07-NW1.md")
        path.write_text(post_text(body="<p>第二版</p>"), encoding="utf-8")

        succeeded, stdout, stderr = run_import(path)

        assert succeeded and "1 updated" in stdout and "conflict" not in stderr
        assert only_article().body == "<p>第二版</p>"


class TestFrontMatter:
    def test_unescaped_quotes_inside_a_quoted_title(self, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text(title='"他说"降准"来了"')))
        assert only_article().title == '他说"降准"来了'

    def test_unquoted_title_with_colon(self, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text(title="快讯: 央行宣布降准")))
        assert only_article().title == "快讯: 央行宣布降准"

    def test_date_without_zone_is_shanghai_time(self, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text(date="2022-01-07 12:35:20")))
        assert only_article().published_at == dt.datetime(2022, 1, 7, 4, 35, 20, tzinfo=dt.UTC)

    @pytest.mark.parametrize("date", ["", "  +0800", "2022-13-45 99:00:00", "昨天"])
    def test_missing_or_broken_date_falls_back_to_the_file_name(self, write_post, date):
        succeeded, stdout, stderr = run_import(write_post("2022-01-07-A1.md", post_text(date=date)))

        assert succeeded and "used the file name's date" in stderr
        assert only_article().published_at == dt.datetime(2022, 1, 6, 16, 0, tzinfo=dt.UTC)

    def test_category_string_with_spaces_is_one_category(self, write_post):
        text = post_text().replace("categories: cailianshe", "categories: 21shijijingjibaodao  nancailicaitong")
        run_import(write_post("2022-01-07-A1.md", text))

        category = only_article().category
        assert category.name == "21shijijingjibaodao  nancailicaitong"
        assert category.slug == "21shijijingjibaodao-nancailicaitong"

    def test_category_list_first_is_category_rest_are_tags(self, write_post):
        text = post_text().replace("categories: cailianshe", "categories:\n  - 宏观\n  - 债市")
        run_import(write_post("2022-01-07-A1.md", text))

        article = only_article()
        assert article.category.name == "宏观" and article.category.slug == "hong-guan"
        assert set(article.tags.names()) == {"债市", "财联社新闻"}

    def test_tags_string_is_split_on_spaces(self, write_post):
        text = post_text().replace("tags: 财联社新闻", "tags: 宏观 A股  港股")
        run_import(write_post("2022-01-07-A1.md", text))
        assert set(only_article().tags.names()) == {"宏观", "A股", "港股"}

    def test_chinese_tag_gets_a_pinyin_slug(self, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text()))
        assert Tag.objects.get(name="财联社新闻").slug == "cai-lian-she-xin-wen"

    def test_an_article_slug_reads_polyphones_as_the_words_they_are_in(self, write_post):
        # Character by character, 银行行长 would be yin-xing-xing-zhang and 重庆长江 zhong-qing-zhang-jiang.
        run_import(write_post("2022-01-07-A1.md", post_text(title='"银行行长：重庆长江大桥"')))
        assert only_article().slug == "yin-hang-hang-zhang-chong-qing-chang-jiang-da-qiao"

    def test_no_category_goes_to_the_default(self, write_post):
        text = post_text().replace("categories: cailianshe\n", "")
        succeeded, stdout, stderr = run_import(write_post("2022-01-07-A1.md", text))
        assert succeeded and only_article().category.name == "未分类"

    def test_published_false_is_a_draft(self, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text(extra="published: false\n")))
        assert only_article().status == Article.Status.DRAFT
        assert not Article.objects.published().exists()

    def test_unknown_keys_are_ignored(self, write_post):
        succeeded, stdout, stderr = run_import(
            write_post("2022-01-07-A1.md", post_text(extra="author: 某人\nfoo: [1, 2]\n"))
        )
        assert succeeded and only_article().title == "测试标题"

    def test_markup_in_a_title_is_text_kept_as_written(self, client, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text(title='"<b>重磅</b><script>alert(1)</script>消息"')))
        article = only_article()
        assert article.title == "<b>重磅</b><script>alert(1)</script>消息"
        page = client.get(article.get_absolute_url()).content.decode()
        assert "&lt;b&gt;重磅&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;消息" in page

    def test_yaml_object_tags_are_never_constructed(self, write_post, tmp_path):
        marker = tmp_path / "pwned"
        title = f'!!python/object/apply:os.system ["touch {marker}"]'
        succeeded, stdout, stderr = run_import(write_post("2022-01-07-A1.md", post_text(title=title)))
        assert not marker.exists()
        assert succeeded and only_article().title == f"touch {marker}"

    def test_yaml_alias_bomb_is_bounded(self, write_post):
        bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        bomb += "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        succeeded, stdout, stderr = run_import(write_post("2022-01-07-A1.md", post_text(extra=bomb)))
        assert succeeded and only_article().title == "测试标题"

    def test_utf8_bom_and_crlf(self, write_post):
        text = "\ufeff" + post_text(body="<p>第一段</p>\n\n第二段").replace("\n", "\r\n")
        run_import(write_post("2022-01-07-A1.md", text))

        article = only_article()
        assert article.title == "测试标题"
        assert article.body == "<p>第一段</p>\n<p>第二段</p>"

    def test_gbk_file_is_decoded(self, write_post):
        succeeded, stdout, stderr = run_import(
            write_post("2022-01-07-A1.md", post_text(title='"人民币汇率"'), encoding="gbk")
        )
        assert succeeded and only_article().title == "人民币汇率"

    def test_blank_lines_before_front_matter(self, write_post):
        run_import(write_post("2022-01-07-A1.md", "\n\n" + post_text()))
        assert only_article().title == "测试标题"

    def test_title_with_empty_body_is_a_flash_item(self, write_post):
        succeeded, stdout, stderr = run_import(write_post("2022-01-07-A1.md", post_text(body="")))
        assert succeeded and only_article().body == ""

    def test_file_without_date_in_name_uses_what_follows_the_dash(self, write_post):
        run_import(write_post("-202205262391921712.md", post_text()))
        assert only_article().info_code == "202205262391921712"

    def test_unclosed_front_matter_is_rejected(self, write_post):
        succeeded, stdout, stderr = run_import(write_post("2022-01-07-A1.md", "---\ntitle: x\n"))
        assert not succeeded and "not closed" in stderr

    def test_binary_garbage_is_rejected_with_a_reason(self, write_post):
        succeeded, stdout, stderr = run_import(write_post("2022-01-07-A1.md", bytes(range(128, 256)) * 20))
        assert not succeeded and "A1.md:" in stderr and not Article.objects.exists()

    @pytest.mark.skipif(not hasattr(yaml, "CBaseLoader"), reason="PyYAML built without libyaml")
    def test_libyaml_reads_a_front_matter_as_pyyaml_does_or_leaves_it_to_pyyaml(self, corpus_dir):
        blocks = [split_front_matter(decode_post(path.read_bytes())[0])[0] for path in sorted(corpus_dir.glob("2*.md"))]
        # What their readers take differently (a tab in a plain scalar, a BOM or U+0085 inside,
        # control characters), an alias, and YAML that neither reads.
        blocks += [
            'title: "A"\ndate: 2021-12-01\t12:00:00',
            'title: "A\ufeff"\ntags: B',
            "title: A\x85B",
            "title: A\x1bB",
            "a: &x [1]\nb: *x",
            'title: "他说"降准"来了"',
            "title: 快讯: 央行宣布降准",
        ]
        for block in blocks:
            try:
                expected = yaml.load(block, Loader=frontmatter._NoAliasLoader)
            except yaml.YAMLError:
                expected = None
            try:
                loaded = frontmatter._load_yaml(block)
            except yaml.YAMLError:
                loaded = None
            assert loaded == expected, block


class TestBody:
    def test_nul_and_control_characters_are_stripped(self, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text(title='"标\x00题\x07"', body="<p>正\x00文\x1b</p>")))
        article = only_article()
        assert article.title == "标题" and article.body == "<p>正文</p>"

    def test_markdown_is_rendered(self, write_post):
        run_import(write_post("2022-01-07-A1.md", post_text(body="**要点**\n\n- 一\n- 二")))
        assert only_article().body == "<p><strong>要点</strong></p>\n<ul>\n<li>一</li>\n<li>二</li>\n</ul>"

    def test_dangerous_html_is_removed(self, write_post):
        body = (
            '<p onclick="x()">文<script>alert(1)</script><img src="x.png" onerror="alert(2)">'
            '<a href="javascript:alert(3)">j</a><iframe src="//evil"></iframe></p>'
            '<form action="//evil"><input name="q"></form><style>body{display:none}</style>'
        )
        path = write_post("2022-01-07-A1.md", post_text(body=body))
        succeeded, _, stderr = run_import(path)
        html = only_article().body.lower()
        for needle in ("script", "onclick", "onerror", "javascript:", "iframe", "<form", "<input", "<style"):
            assert needle not in html
        assert '<img src="x.png"' in html
        assert succeeded and stderr.splitlines() == [
            f"warning {path}: body: HTML the site does not show was left out: 1 <script>, 1 <iframe>, 1 <form>, "
            "1 <input>, 1 <style>, 1 onclick attribute, 1 onerror attribute, 1 href attribute"
        ]

    @pytest.mark.parametrize(
        "body",
        [
            # The old site's parts, which the import removes on purpose (body.py).
            '<!-- EM_StockImg_Start --><p><a href="http://quote.eastmoney.com/unify/r/1.601601" data-code="601601|1|1">'
            '<img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid=1.601601"></a><script>k()</script></p>'
            '<!-- EM_StockImg_End --><p style="display:none;height:1px;"><iframe src="//x"></iframe></p><p>正文</p>',
            # East Money's markup: its stock <span>s and links, centred images, styles and classes.
            '<p class="em_media">（文章来源：财联社）</p><p><span id="stock_1.600160"><a class="keytip" '
            'data-code="1,600160" href="http://quote.eastmoney.com/unify/r/1.600160" target="_blank">巨化股份</a></span>'
            '<span web="1" href="http://quote.eastmoney.com/unify/r/106.NIO" class="em_stock_key_common" '
            'data-code="106,NIO">蔚来</span></p><center><img src="https://np-newspic.dfcfw.com/a.png" '
            'style="border:#d1d1d1 1px solid;" width="560"></center><p style="text-align:center;">正文</p>',
            # Word's and the editor's equivalent forms, rewritten rather than left out.
            '<p class=MsoNormal><b>要点</b><i>斜体</i><o:p></o:p></p><h1>小标题</h1><div><font color="red">红</font></div>'
            '<table><caption>表</caption><tr><td title="说明">1</td></tr></table><a href="mailto:a@b.cn">信</a>',
        ],
        ids=["old-site-parts", "east-money-markup", "equivalent-forms"],
    )
    def test_markup_that_only_styled_the_text_or_was_the_old_site_s_gives_no_warning(self, write_post, body):
        succeeded, _, stderr = run_import(write_post("2022-01-07-A1.md", post_text(body=body)))
        assert succeeded and "warning" not in stderr, stderr
        assert re.search(r"正文|<strong>要点</strong>", only_article().body)

    def test_what_is_left_out_is_named_whether_its_text_stays_or_goes(self, write_post):
        body = (
            "<dl><dt>市盈率</dt><dd>12 倍</dd></dl><marquee>滚动</marquee><button>订阅</button>"
            '<style>p{color:red}</style><template><p>模板</p></template><ol type="a" start="2"><li value="5">项</li></ol>'
            '<p><a href=" JavaScript:void(0)">点我</a><img src="data:image/png;base64,AAAA" alt="图"></p>'
        )
        path = write_post("2022-01-07-A1.md", post_text(body=body))
        succeeded, _, stderr = run_import(path)
        article = only_article()
        assert all(text in article.body for text in ("市盈率", "12 倍", "滚动", "订阅", "点我", '<ol start="2">'))
        assert "模板" not in article.body and "color" not in article.body
        assert succeeded and stderr.splitlines() == [
            f"warning {path}: body: HTML the site does not show was left out: 1 <dl>, 1 <dt>, 1 <dd>, 1 <marquee>, "
            "1 <button>, 1 <style>, 1 <template>, 1 type attribute, 1 value attribute, 1 href attribute, 1 src attribute"
        ]

    def test_a_summary_longer_than_its_limit_is_cut_with_a_warning(self, write_post):
        path = write_post("2022-01-07-A1.md", post_text(body=f"> {'摘要' * 1001}\n\n<p>正文</p>"))
        succeeded, _, stderr = run_import(path)
        assert only_article().summary == "摘要" * 1000
        assert succeeded and stderr.splitlines() == [
            f"warning {path}: summary '{'摘要' * 30}' is longer than 2000 characters; cut"
        ]

    def test_a_stock_name_longer_than_its_limit_is_cut_with_a_warning(self, write_post):
        long_name = "中国太平洋保险" * 15
        body = (
            f'<p><a href="http://quote.eastmoney.com/unify/r/1.601601" data-code="1,601601">{long_name}</a>'
            f'<a href="http://quote.eastmoney.com/unify/r/1.601601">{long_name}再提</a></p>'
        )
        stocks = f"stocks:\n- {{market: sz, code: '000001', name: {'平安银行' * 26}}}\n"
        path = write_post("2022-01-07-A1.md", post_text(extra=stocks, body=body))
        succeeded, _, stderr = run_import(path)
        names = dict(only_article().stocks.values_list("code", "name"))
        assert names == {"601601": long_name[:100], "000001": ("平安银行" * 26)[:100]}
        # Once for the stock, for the name it keeps (the first link's), not for each link.
        assert succeeded and stderr.splitlines() == [
            f"warning {path}: stock sh:601601 name '{long_name[:60]}' is longer than 100 characters; cut",
            f"warning {path}: stock sz:000001 name '{('平安银行' * 26)[:60]}' is longer than 100 characters; cut",
        ]

    def test_html_nested_past_the_limit_is_refused_at_once_and_the_rest_imported(self, write_post):
        # 100,000 nested <div>s took the allow-list half a minute; a real body nests a few deep.
        deep = "<div>" * 100_000 + "深" + "</div>" * 100_000
        write_post("2022-01-07-DEEP1.md", post_text(body=deep))
        write_post("2022-01-07-DEEP2.md", post_text(body="> <div>" * 150 + "摘要"))
        fine = write_post("2022-01-07-FINE1.md", post_text(body="<div>" * 90 + "<p>正文</p>" + "</div>" * 90))
        started = time.perf_counter()
        succeeded, stdout, stderr = run_import(fine.parent)

        assert time.perf_counter() - started < 10
        assert not succeeded and stderr.count("its HTML nests more than 100 elements deep") == 2
        assert list(Article.objects.values_list("info_code", "body")) == [("FINE1", "<p>正文</p>")]

    def test_trailer_lines_are_removed_and_source_link_kept(self, write_post):
        body = (
            "<p>正文</p>\n\n<http://stock.eastmoney.com/news/1611,2021.html>\n\n"
            "<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1>\n\n<>\n\n"
            "[返回财联社新闻](//finews.withounder.com/category/cailianshe.html)｜[返回首页](//finews.withounder.com/)\n"
            "[返回东财滚动新闻](../emnews/)\n[返回首页](../)\n"
        )
        run_import(write_post("2022-01-07-A1.md", post_text(body=body)))
        article = only_article()
        assert article.body == "<p>正文</p>"
        assert article.source_url == "http://stock.eastmoney.com/news/1611,2021.html"

    def test_every_stock_reference_form(self, write_post):
        body = (
            '<p><a href="http://quote.eastmoney.com/unify/r/106.NIO" data-code="NIO|106|7"><img src="x"></a>'
            '<a href="http://quote.eastmoney.com/unify/r/1.600160" data-code="1,600160">巨化股份</a>'
            '<a href="http://quote.eastmoney.com/unify/r/90.BK0493" data-code="90,BK0493">新能源</a>'
            '<a href="http://quote.eastmoney.com/unify/r/105.PDD">拼多多</a>'
            '<span data-code="116,700">腾讯</span>'
            '<a data-code="1,12345">坏代码</a><a data-code="99,600000">坏市场</a></p>'
        )
        run_import(write_post("2022-01-07-A1.md", post_text(body=body)))
        stocks = {(s.code, s.market, s.name) for s in only_article().stocks.all()}
        assert stocks == {
            ("NIO", Market.NYSE, ""),
            ("600160", Market.SHANGHAI, "巨化股份"),
            ("BK0493", Market.BOARD, "新能源"),
            ("PDD", Market.NASDAQ, "拼多多"),
            ("00700", Market.HONG_KONG, "腾讯"),
        }

    def test_stock_chart_blocks_are_removed_but_their_stocks_kept(self, write_post):
        body = (
            '<!-- EM_StockImg_Start --><p style="text-align:center;"><a href="http://quote.eastmoney.com/unify/r/1.601601" '
            'data-code="601601|1|1"><img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid=1.601601&token=abc"></a>'
            "</p><!-- EM_StockImg_End --><p>正文</p>"
        )
        run_import(write_post("2022-01-07-A1.md", post_text(body=body)))
        article = only_article()
        assert article.body == "<p>正文</p>"
        assert [s.code for s in article.stocks.all()] == ["601601"]

    def test_same_stock_in_many_posts_is_one_reference(self, write_post):
        body = '<a data-code="1,601601">中国太保</a>'
        write_post("2022-01-07-A1.md", post_text(body=body))
        run_import(write_post("2022-01-07-A2.md", post_text(body=body)).parent)
        assert StockReference.objects.filter(code="601601").count() == 1


def test_summary_is_logged_for_operators(write_post, caplog):
    caplog.set_level("INFO", logger="articles.intake")
    run_import(write_post("2022-01-07-A1.md", post_text()))
    assert "import_posts finished files=1 created=1 dry_run=False" in caplog.text


def test_the_readme_quotes_the_lines_the_corpus_gives(corpus_dir, caplog):
    """Reference (Keeping in sync with the scraper) and Importing posts (Reports) quote what a run
    of the real corpus into an empty database logs and prints last: an operator greps for them."""
    readme = " ".join((BASE_DIR / "README.md").read_text(encoding="utf-8").split())
    (logged,) = re.findall(r"`(import_posts finished [^`]+)`", readme)
    (closing,) = re.findall(r"one more line \(`([^`]+?) …: exit status 1`\)", readme)
    caplog.set_level("INFO", logger="articles.intake")

    succeeded, stdout, stderr = run_import(corpus_dir)

    assert not succeeded
    assert logged in caplog.text
    assert stderr.splitlines()[-1].startswith(closing)


def test_the_closing_line_counts_the_rejected_files_not_a_conflict(write_post):
    """A conflict is not imported either, but it is not what fails the run: the closing line that
    gives the exit status counts the rejected files, and says so."""
    run_import(write_post("2022-01-07-A1.md", post_text()))
    write_post("2022-01-08-A1.md", post_text(body="<p>另一个文件的正文</p>"))
    folder = write_post("2022-01-07-BAD1.md", "没有头信息").parent

    succeeded, stdout, stderr = run_import(folder)

    assert not succeeded
    assert stdout.splitlines()[-1] == "3 files: 0 created, 0 updated, 1 unchanged, 1 conflict, 1 rejected"
    assert stderr.splitlines()[-1].startswith("1 of 3 files were rejected (each is named above with its reason")


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses a SQLite file of its own; runs once, in the SQLite pass"
)
def test_a_run_with_a_rejected_file_ends_with_a_summary_and_exit_status_1_not_a_crash(
    tmp_path, corpus_dir, migrated_sqlite
):
    """From the shell, as cron runs it: Django's "CommandError: 47 files: …" read like a crash."""
    folder = tmp_path / "posts"
    folder.mkdir()
    for name in sorted(path.name for path in corpus_dir.glob("2022-*.md"))[:3]:
        (folder / name).write_bytes((corpus_dir / name).read_bytes())
    (folder / "2022-01-07-BAD1.md").write_text("没有头信息", encoding="utf-8")
    environment = {**os.environ, "DATABASE_URL": migrated_sqlite(tmp_path / "site.sqlite3")}

    def manage(*args):
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(command, cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120)

    result = manage("import_posts", str(folder))

    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "4 files: 3 created, 0 updated, 0 unchanged, 0 conflict, 1 rejected"
    assert f"rejected {folder / '2022-01-07-BAD1.md'}: " in result.stderr
    assert result.stderr.splitlines()[-1].startswith("1 of 4 files were rejected (each is named above")
    assert "CommandError" not in result.stderr and "Traceback" not in result.stderr


def test_a_failure_while_writing_one_file_rolls_back_only_that_file(write_post, monkeypatch):
    from articles.intake.importer import PostImporter

    # B2 is the first post of a new category, and fails after creating it; C3 is in it too.
    in_new_category = post_text(title='"会失败的一篇"', body='<a data-code="1,600000">浦发银行</a>')
    write_post("2022-01-07-A1.md", post_text(title='"第一篇"'))
    write_post("2022-01-07-B2.md", in_new_category.replace("categories: cailianshe", "categories: xinfenlei"))
    write_post(
        "2022-01-07-C3.md", post_text(title='"第三篇"').replace("categories: cailianshe", "categories: xinfenlei")
    )
    real_stock_references = PostImporter._stock_references

    def failing_for_b2(self, mentions):
        if mentions:
            raise RuntimeError("disk full")
        return real_stock_references(self, mentions)

    monkeypatch.setattr(PostImporter, "_stock_references", failing_for_b2)
    succeeded, stdout, stderr = run_import(write_post("x.txt", "").parent)

    assert not succeeded and "B2.md: could not be written (RuntimeError: disk full)" in stderr
    assert set(Article.objects.values_list("info_code", flat=True)) == {"A1", "C3"}
    assert Article.objects.get(info_code="C3").category.name == "xinfenlei"
    assert not Tag.objects.filter(tagged_articles__content_object__info_code="B2").exists()


def test_a_batch_that_cannot_commit_is_imported_again_file_by_file(write_post, monkeypatch, caplog):
    from articles.intake import importer

    write_post("2022-01-07-A1.md", post_text(title='"第一篇"'))
    folder = write_post("2022-01-07-A2.md", post_text(title='"第二篇"')).parent
    failed = []

    @contextlib.contextmanager
    def batch_failing_once():
        # As a commit that fails: everything in the batch is rolled back, then the error surfaces.
        with transaction.atomic():
            yield
            if not failed:
                failed.append(True)
                raise DatabaseError("database is locked")

    monkeypatch.setattr(importer, "transaction", SimpleNamespace(atomic=batch_failing_once))
    succeeded, stdout, _ = run_import(folder)

    assert failed and succeeded and "2 files: 2 created" in stdout
    assert sorted(Article.objects.values_list("title", flat=True)) == ["第一篇", "第二篇"]
    assert "a batch of 2 files failed to commit; importing them one by one" in caplog.text


def test_an_article_whose_file_disappeared_stays(write_post):
    path = write_post("2022-01-07-A1.md", post_text())
    run_import(path.parent)
    path.unlink()
    write_post("2022-01-07-A2.md", post_text(title='"另一篇"'))

    run_import(path.parent)

    assert set(Article.objects.values_list("info_code", flat=True)) == {"A1", "A2"}


class TestHygiene:
    """Only regular files inside the folder are read; names and codes follow the model's rules."""

    @pytest.fixture
    def fails_if_it_blocks(self):
        """Fail the test (instead of hanging the suite) if it is still running after 20 seconds."""
        import signal

        def blocked(*args):
            raise AssertionError("blocked for 20 s (waiting on a FIFO?)")

        previous = signal.signal(signal.SIGALRM, blocked)
        signal.alarm(20)
        yield
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    def test_a_fifo_is_reported_and_skipped_not_waited_on(self, write_post, fails_if_it_blocks):
        import os

        good = write_post("2022-01-07-GOOD1.md", post_text())
        fifo = good.parent / "2022-01-07-FIFO1.md"
        os.mkfifo(fifo)

        succeeded, stdout, stderr = run_import(good.parent)

        assert f"rejected {fifo}: not a regular file (a FIFO, socket or device); skipped" in stderr
        assert "2 files: 1 created" in stdout and Article.objects.get().info_code == "GOOD1"

    def test_a_file_swapped_for_a_fifo_after_listing_is_not_waited_on(self, tmp_path, fails_if_it_blocks):
        import os

        from articles.intake.importer import Outcome, PostImporter

        fifo = tmp_path / "2022-01-07-SWAP1.md"
        os.mkfifo(fifo)
        report = PostImporter().import_file(fifo)

        assert report.outcome == Outcome.REJECTED
        assert report.reason == "not a regular file (a FIFO, socket or device); skipped"

    def test_symbolic_links_out_of_the_folder_are_not_followed(self, write_post, tmp_path):
        posts = tmp_path / "posts"
        posts.mkdir()
        outside = tmp_path / "secret" / "2022-01-07-OUT1.md"
        outside.parent.mkdir()
        outside.write_text(post_text(title='"外面的文件"'), encoding="utf-8")
        (posts / "2022-01-07-OUT1.md").symlink_to(outside)
        (posts / "folder-link").symlink_to(outside.parent, target_is_directory=True)
        # A link to a file kept in a hidden folder of the posts folder is inside it: followed.
        inside = posts / ".store" / "2022-01-07-IN1.md"
        inside.parent.mkdir()
        inside.write_text(post_text(title='"里面的文件"'), encoding="utf-8")
        (posts / "2022-01-07-IN1.md").symlink_to(inside)

        succeeded, stdout, stderr = run_import(posts)

        assert f"rejected {posts / '2022-01-07-OUT1.md'}: a symbolic link to {outside}, outside the folder" in stderr
        assert not Article.objects.filter(title="外面的文件").exists()
        assert list(Article.objects.values_list("title", flat=True)) == ["里面的文件"]

    @pytest.mark.parametrize("name", ["2022-01-07-..md", "2022-01-07-.md", "2022-01-07-A B.md", "2022-01-07-中文.md"])
    def test_info_codes_a_url_cannot_carry_are_refused(self, write_post, name):
        path = write_post(name, post_text())

        succeeded, stdout, stderr = run_import(path)

        assert not succeeded and f"rejected {path}: file name gives no usable info code" in stderr
        assert not Article.objects.exists()

    def test_tags_and_categories_are_text_as_written_by_the_rule_of_titles(self, write_post):
        front_matter = (
            'title: "&lt;b&gt;加粗&lt;/b&gt;标题"\ndate: 2022-01-07 12:35:20 +0800\n'
            'categories: ["<i>财经</i>频道", "&lt;script&gt;alert(1)&lt;/script&gt;市场"]\n'
            'tags: ["<b>港股</b>", "&amp;lt;img src=x onerror=alert(1)&amp;gt;", "A&amp;B"]\n'
        )
        write_post("2022-01-07-PLAIN1.md", f"---\n{front_matter}---\n<p>正文</p>\n")

        succeeded, stdout, stderr = run_import(write_post("x.txt", "").parent)

        assert succeeded, stderr
        article = only_article()
        assert article.title == "&lt;b&gt;加粗&lt;/b&gt;标题"
        assert article.category.name == "<i>财经</i>频道"
        assert sorted(article.tags.names()) == [
            "&amp;lt;img src=x onerror=alert(1)&amp;gt;",
            "&lt;script&gt;alert(1)&lt;/script&gt;市场",
            "<b>港股</b>",
            "A&amp;B",
        ]

    def test_a_us_ticker_with_a_dash_is_a_stock(self, write_post):
        write_post("2022-01-07-BRK1.md", post_text(body='<p><a data-code="BRK-B|106|7">伯克希尔</a></p>'))

        run_import(write_post("x.txt", "").parent)

        stock = StockReference.objects.get()
        assert (stock.market, stock.code, stock.name) == (Market.NYSE, "BRK-B", "伯克希尔")
        assert only_article().stocks.get() == stock

    @pytest.mark.parametrize(
        "link", ["http://..eastmoney.com/news/1,2.html", "http://finance.eastmoney.com/news/" + "1" * 600 + ".html"]
    )
    def test_a_source_link_that_is_no_usable_url_is_left_out_with_a_warning(self, write_post, link):
        path = write_post("2022-01-07-URL1.md", post_text(body=f"<p>正文</p>\n\n<{link}>\n"))

        succeeded, stdout, stderr = run_import(path)

        assert succeeded and f"warning {path}: source link {link[:100]!r} is not a valid URL; left out" in stderr
        assert only_article().source_url == "" and only_article().body == "<p>正文</p>"

    def test_the_source_link_is_checked_by_the_parsing_that_workers_do(self, write_post):
        """Checked in parse_post (no database), so that with --workers it is not the writer's work."""
        from articles.intake.posts import parse_post

        path = write_post(
            "2022-01-07-URL2.md", post_text(body="<p>正文</p>\n\n<http://..eastmoney.com/news/1,2.html>\n")
        )

        parsed = parse_post(path, path.read_bytes())

        assert parsed.body.source_url == ""
        assert parsed.warnings == ["source link 'http://..eastmoney.com/news/1,2.html' is not a valid URL; left out"]

    @pytest.mark.parametrize(
        ("front_matter", "authors"),
        [
            ("author: 张三\n", ["张三"]),
            ("author: 张三、李四\n", ["张三", "李四"]),
            ("author: [张三, 李四]\n", ["张三", "李四"]),
            ("authors:\n  - 张三\n  - 李四\n", ["张三", "李四"]),
            ("author:\n  name: 张三\n  twitter: zhangsan\n", ["张三"]),
            ("author: \n", []),
        ],
    )
    def test_author_and_authors_as_jekyll_writes_them(self, write_post, front_matter, authors):
        path = write_post("2022-01-07-AUTHOR1.md", post_text(extra=front_matter))

        succeeded, stdout, stderr = run_import(path)

        assert succeeded and "warning" not in stderr, stderr
        assert only_article().author_names == authors

    def test_authors_that_do_not_fit_are_left_out_with_a_warning(self, write_post):
        names = [f"作者{number:02d}{'名' * 40}" for number in range(5)]
        path = write_post("2022-01-07-AUTHOR2.md", post_text(extra=f"authors: [{', '.join(names)}]\n"))

        succeeded, stdout, stderr = run_import(path)

        assert succeeded and only_article().author_names == names[:4]
        assert f"warning {path}: author {names[4]!r} does not fit in 200 characters of authors; left out" in stderr

    def test_bylines_an_editor_changed_are_not_overwritten_without_force(self, write_post):
        editor = User.objects.create_user("wangwu", last_name="王", first_name="五")
        path = write_post("2022-01-07-AUTHOR3.md", post_text(extra="author: 张三\n"))
        run_import(path)
        Article.objects.update(authors="李四", responsible_editor=editor, edited_since_import=True)
        path.write_text(post_text(extra="author: 赵六\nresponsible_editor: 钱七\n"), encoding="utf-8")

        succeeded, stdout, stderr = run_import(path)
        assert f"conflict {path}" in stderr
        assert (only_article().authors, only_article().responsible_editor) == ("李四", editor)

        succeeded, stdout, stderr = run_import(path, "--force")
        # The file's authors; who published it stays, as the file names no user of this site.
        assert (only_article().authors, only_article().responsible_editor) == ("赵六", editor)
        assert f"warning {path}: responsible editor '钱七' matches no user; left out" in stderr


@pytest.mark.django_db(transaction=True)
class TestDroppedConnection:
    """A batch whose commit fails (the connection dropped): what is committed is searchable, and
    the report says what this run wrote (#24)."""

    @pytest.fixture
    def three_posts(self, write_post):
        for number in range(3):
            write_post(f"2022-01-07-DROP{number}.md", post_text(title=f'"断线第{number}条"'))
        return write_post("x.txt", "").parent

    def dropping(self, monkeypatch, after_commit):
        """Make the next commit fail as a dropped connection does: after it landed (its answer
        lost) when ``after_commit``, or before it."""
        from django.db import OperationalError
        from django.db.backends.base.base import BaseDatabaseWrapper

        original, calls = BaseDatabaseWrapper.commit, []

        def commit(self):
            calls.append(1)
            if len(calls) == 1:
                if after_commit:
                    original(self)
                raise OperationalError("server closed the connection unexpectedly")
            return original(self)

        monkeypatch.setattr(BaseDatabaseWrapper, "commit", commit)

    @pytest.mark.parametrize("after_commit", [True, False])
    def test_the_import_reconnects_and_says_what_it_wrote(self, three_posts, monkeypatch, after_commit):
        from articles.search import SearchResults

        self.dropping(monkeypatch, after_commit)

        succeeded, stdout, stderr = run_import(three_posts)

        assert succeeded and "3 files: 3 created" in stdout, stderr
        assert Article.objects.count() == 3
        assert SearchResults("断线", Article.objects.all()).count() == 3


class TestWorkers:
    """import_posts --workers N parses in N processes and writes in one, with the same outcome."""

    @staticmethod
    def stored():
        """Every article as a reader, an editor and the search see it, without database ids."""
        from reversion.models import Version

        from articles.search import SearchResults

        articles = Article.objects.select_related("category", "story").prefetch_related("tags", "stocks")
        rows = {
            article.info_code: (
                article.title, article.slug, article.summary, article.body, article.category.name, article.status,
                article.published_at, article.source_url, article.source_name, article.source_hash,
                article.story and article.story.info_code, article.edited_since_import,
                sorted(tag.name for tag in article.tags.all()), sorted(str(stock) for stock in article.stocks.all()),
                [version.revision.comment for version in Version.objects.get_for_object(article)],
            )
            for article in articles
        }  # fmt: skip
        found = SearchResults("央行", Article.objects.published())
        return rows, sorted(article.info_code for article in found[0 : found.count()])

    def imported(self, folder, *options):
        """import_posts' output and the rows it left, rolled back after."""
        with transaction.atomic():
            succeeded, stdout, stderr = run_import(folder, *options)
            rows = self.stored()
            transaction.set_rollback(True)
        return succeeded, stdout, stderr, rows

    def test_the_corpus_imports_to_the_same_rows(self, corpus_dir, db):
        one = self.imported(corpus_dir)
        two = self.imported(corpus_dir, "--workers", "2")

        assert two == one
        assert len(one[3][0]) == len(list(corpus_dir.glob("*.md"))) - 1 and one[3][1]  # all but the broken post
        assert f"rejected {corpus_dir / BROKEN_POST}: empty title" in two[2]

    def test_unchanged_files_edited_articles_and_blanked_bodies(self, write_post, db):
        unchanged = write_post("2022-01-07-NW1.md", post_text(body="<p>原样</p>"))
        edited = write_post("2022-01-07-NW2.md", post_text(body="<p>第一版</p>"))
        blanked = write_post("2022-01-07-NW3.md", post_text(body="<p>有正文</p>"))
        assert run_import(unchanged.parent, "--workers", "2")[0]
        Article.objects.filter(info_code="NW2").update(body="<p>编辑改过</p>", edited_since_import=True)
        edited.write_text(post_text(body="<p>第二版</p>"), encoding="utf-8")
        blanked.write_text(post_text(body=""), encoding="utf-8")

        succeeded, stdout, stderr = run_import(unchanged.parent, "--workers", "2")

        assert "3 files: 0 created, 0 updated, 1 unchanged, 1 conflict, 1 rejected" in stdout
        assert f"conflict {edited}" in stderr and f"rejected {blanked}: the new file would blank" in stderr
        assert Article.objects.get(info_code="NW2").body == "<p>编辑改过</p>"
        assert Article.objects.get(info_code="NW3").body == "<p>有正文</p>"

    def test_workers_must_be_one_or_more(self, corpus_dir, db):
        succeeded, _, stderr = run_import(corpus_dir, "--workers", "0")
        assert not succeeded and "--workers must be 1 or more" in stderr


def test_the_writer_costs_a_fixed_number_of_queries_a_new_post(write_post, django_assert_num_queries):
    """What the single writer of `--workers` spends on a new post once its category, tag and stock
    are known (a first import is thousands of these): the count grows only with a reason.

    The batch: its savepoint and release, one look for which of its articles exist and one for the
    stored articles its posts may join as a story (4; after its commit, one look per category for
    a new oldest article, not run here: the test's transaction never commits). Each post (9): the
    file's one savepoint and its release, the article, its tag and stock rows, its stock's list row
    (StockListing), the search entry (a new article's: an insert, no delete), the revision and its
    versions (written as reversion would, without its reading back that the article and its tag
    rows exist: the rows it records are those just written, not read back). The category is not
    read again (full_clean): it was read, or created, by this import. 15 before (14 on PostgreSQL).
    """
    from articles.intake.importer import Outcome, PostImporter

    importer = PostImporter()
    stock = '<a data-code="1,600000">浦发银行</a>'
    first = write_post("2022-01-07-A1.md", post_text(title='"第一篇"', body=stock))
    assert [report.outcome for report in importer.import_files([(first, None)])] == [Outcome.CREATED]
    batch = [
        (write_post(f"2022-01-07-B{number}.md", post_text(title=f'"第{number}篇"', body=stock)), None)
        for number in (2, 3)
    ]

    with django_assert_num_queries(4 + 2 * 9):
        reports = list(importer.import_files(batch))

    assert [report.outcome for report in reports] == [Outcome.CREATED, Outcome.CREATED]


def test_unchanged_files_cost_one_query_a_batch(write_post, django_assert_num_queries):
    """A cron run over a folder of posts imported before (the scraper keeps them all): the batch's
    savepoint and release and its one look at the stored digests (3), none of each file's own."""
    from articles.intake.importer import Outcome, PostImporter

    files = [(write_post(f"2022-01-07-U{number}.md", post_text(title=f'"第{number}篇"')), None) for number in range(5)]
    assert {report.outcome for report in PostImporter().import_files(files)} == {Outcome.CREATED}

    with django_assert_num_queries(3):
        reports = list(PostImporter().import_files(files))

    assert [report.outcome for report in reports] == [Outcome.UNCHANGED] * 5


def test_each_file_of_a_batch_is_written_in_one_savepoint(write_post):
    """One savepoint a file, the guarantee that a bad file is rolled back alone (the one write
    path's own is not opened inside it: two statements more a post)."""
    from articles.intake.importer import Outcome, PostImporter

    first = write_post("2022-01-07-S0.md", post_text(title='"第0篇"'))
    list(PostImporter().import_files([(first, None)]))  # its category and tag exist now
    files = [(write_post(f"2022-01-07-S{number}.md", post_text(title=f'"第{number}篇"')), None) for number in (1, 2, 3)]

    with CaptureQueriesContext(connection) as statements:
        reports = list(PostImporter().import_files(files))

    assert [report.outcome for report in reports] == [Outcome.CREATED] * 3
    # And one for the batch's transaction, inside the test's.
    assert sum(query["sql"].startswith("SAVEPOINT") for query in statements.captured_queries) == 1 + 3


def test_a_second_file_of_an_article_in_one_batch_is_compared_with_the_first_file_written(write_post):
    """Two files of one info code in a batch: the second is compared with what the first wrote, not
    with the digest stored before the batch (which may equal the second's). (With --force: without
    it, a file of another name than the article's is a conflict.)"""
    from articles.intake.importer import Outcome, PostImporter

    old = write_post("2022-01-07-NW7.md", post_text(body="<p>旧</p>"))
    assert [report.outcome for report in PostImporter().import_files([(old, None)])] == [Outcome.CREATED]
    new = write_post("2022-01-07-NW7.markdown", post_text(body="<p>新</p>"))

    reports = list(PostImporter(force=True).import_files([(new, None), (old, None)]))

    assert [report.outcome for report in reports] == [Outcome.UPDATED, Outcome.UPDATED]
    assert "旧" in Article.objects.get(info_code="NW7").body


def test_a_first_import_costs_at_most_nine_statements_a_post(
    write_post, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """A batch of new posts in two categories, with a tag and a stock, and the effects run after
    the commit (keys.became_oldest): at most 9 statements a post (its savepoint and its release,
    the article, its tag, its stock, its stock's list row (StockListing), its revision and that
    revision's versions, its search entry), and 40 for the run (the first lookups and creations
    of its categories, tag and stock, the batch's reads). bench/, rows 1 and 1c; 15 before one
    savepoint a file, revisions written without reversion's existence checks, categories not read
    again by full_clean and a new article's search entry inserted without a delete; 17 before
    stories.BatchLeads and the after-commit oldest look."""
    from articles.caching import content_changed
    from articles.intake.importer import PostImporter, find_post_files

    stock = '<a data-code="1,600000">浦发银行</a>'
    for number in range(20):
        text = post_text(title=f'"第{number}篇"', date=f"2022-01-07 {number:02}:10:00 +0800", body=stock)
        write_post(f"2022-01-07-C{number}.md", text.replace("cailianshe", "emnews") if number % 2 else text)
    files = list(find_post_files([write_post("x.txt", "").parent]))
    with django_capture_on_commit_callbacks(execute=True):
        # What earlier tests' transactions (never committed) left queued goes first.
        content_changed(set())

    with django_assert_max_num_queries(9 * len(files) + 40), django_capture_on_commit_callbacks(execute=True):
        reports = list(PostImporter().import_files(files))

    assert len(reports) == 20 and Article.objects.count() == 20


def test_slugs_cut_text_into_words_as_pypinyins_whole_phrase_dictionary_does():
    """A process that makes a few slugs (the import from cron) gives pypinyin only the words of each
    text (articles.slugs): pieces of dictionary words, run together, read the same as with them all."""
    script = """
import json, os, random, sys
from importlib.util import find_spec
from pathlib import Path
words = sorted(json.loads(Path(find_spec("pypinyin").origin).with_name("phrases_dict.json").read_text("utf-8")))
random.seed(28)
texts = ["银行行长：重庆长江大桥", "一丁不", "A股", "", "😀", "长"]
for _ in range(1500):
    pieces = [word[: random.randint(1, len(word))] for word in random.choices(words, k=random.randint(1, 4))]
    texts.append(random.choice(["", "，", "A股", " "]).join(pieces))
texts += ["据悉" + word + "。" for word in sorted(words, key=len)[-40:]]  # the longest words too
if sys.argv[1] == "whole":
    from pypinyin import lazy_pinyin
else:
    import django
    django.setup()
    from articles import slugs
    # Bisected for every text, or every word given to the segmenter from the first text on.
    slugs._PhraseDictionary.WHOLE_AFTER_TEXTS = len(texts) if sys.argv[1] == "looked up" else 0
    lazy_pinyin = slugs._lazy_pinyin()
    assert not slugs._phrases().whole
readings = []
for text in texts:
    if sys.argv[1] != "whole":
        slugs._phrases().provide(text)
    readings.append(lazy_pinyin(text, errors="default"))
if sys.argv[1] != "whole":
    assert (slugs._phrases().offsets is None) == (sys.argv[1] == "looked up")
print(json.dumps(readings))
"""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYPINYIN_")}
    run = functools.partial(subprocess.run, cwd=BASE_DIR, env=environment, capture_output=True, text=True, check=True)
    whole, looked_up, indexed = (
        run([sys.executable, "-c", script, how]).stdout for how in ("whole", "looked up", "indexed")
    )
    assert '"hang", "hang", "zhang"' in whole
    assert looked_up == whole
    assert indexed == whole


def test_only_a_phrase_file_written_one_word_a_line_is_bisected(tmp_path):
    """Another pypinyin may write its phrases_dict.json otherwise: then the whole of it is read."""
    from articles.slugs import _SortedPhrases

    compact = tmp_path / "phrases_dict.json"
    compact.write_text(json.dumps({"银行": [["yín"], ["háng"]]}, ensure_ascii=False), encoding="utf-8")
    assert not _SortedPhrases(compact).bisectable
    assert _SortedPhrases(Path(find_spec("pypinyin").origin).with_name("phrases_dict.json")).bisectable
