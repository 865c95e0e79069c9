"""What editors write is what is stored: tag text, unchanged saves, the body editor's elements, pastes, covers."""

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group, User
from reversion.models import Version

from articles.models import Article, Tag
from articles.roles import EDITOR_GROUP_NAME
from articles.tagging import format_tags, parse_tags
from tests.conftest import run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = User.objects.create_user("xiaowang", password="a-long-passphrase-7", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITOR_GROUP_NAME))
    client.force_login(user)
    return user


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def change_form(client, article):
    """The change form's URL and the data a browser sends back when saving it untouched."""
    url = f"/admin/articles/article/{article.pk}/change/"
    page = BeautifulSoup(client.get(url).content.decode(), "lxml")
    form = page.select_one("form#article_form")
    data = {}
    for field in form.select("input[name], textarea[name], select[name]"):
        name = field["name"]
        if field.name == "textarea":
            data[name] = field.text
        elif field.name == "select":
            chosen = field.select("option[selected]")
            if field.has_attr("multiple"):
                data[name] = [option["value"] for option in chosen]
            else:
                data[name] = chosen[0]["value"] if chosen else ""
        elif field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data[name] = field.get("value", "on")
        elif field.get("type") not in ("file", "submit"):
            data[name] = field.get("value", "")
    data["_save"] = "保存"
    return url, data


POST = """---
layout: post
title: "美联储加息预期升温，港股承压"
date: 2022-05-31 11:00:00 +0800
categories: cailianshe
tags:
{tags}
---

美联储官员讲话后，市场加息预期升温。
"""

# Names the import can create (a YAML list keeps each item whole), by the characters that matter to tag text.
TAG_NAMES = [
    "Federal Reserve",  # an ASCII space
    "宏观，A股",  # a full-width comma
    "A 股",
    "港股、美股",  # the enumeration comma
    "Fed, ECB",  # an ASCII comma
    "利率；汇率",  # a full-width semicolon
    'say "hi"',  # ASCII quotes
    '"引号"开头',
    "“中国梦”",  # full-width quotes
    "中\u3000国",  # an ideographic space
    "S&P 500",
    "财联社新闻",
]


class TestTagText:
    @pytest.mark.parametrize("name", TAG_NAMES)
    def test_every_name_the_import_can_make_reads_back_as_itself(self, name):
        assert parse_tags(format_tags([Tag(name=name), Tag(name="宏观")])) == sorted([name, "宏观"])

    def test_the_whole_table_reads_back_at_once(self):
        assert parse_tags(format_tags([Tag(name=name) for name in TAG_NAMES])) == sorted(TAG_NAMES)

    @pytest.mark.parametrize(
        "typed, names",
        [
            ("宏观，A股、港股", ["宏观", "A股", "港股"]),
            ("宏观, A股 港股；债市", ["宏观", "A股", "港股", "债市"]),
            ('"Federal Reserve"，美股', ["Federal Reserve", "美股"]),
            ("“Federal Reserve”，美股", ["Federal Reserve", "美股"]),
            ('"说""好"""', ['说"好"']),
            ('"未闭合, 的引号', ["未闭合, 的引号"]),
            ("宏观，宏观、A股，a股", ["宏观", "A股"]),
        ],
    )
    def test_what_editors_type(self, typed, names):
        assert parse_tags(typed) == names

    def test_the_form_says_how_to_write_a_name_with_a_space(self, client, editor, write_post):
        run_import(write_post("2022-05-31-NW1.md", POST.format(tags="  - Federal Reserve")))
        url, _ = change_form(client, Article.objects.get())
        assert '"Federal Reserve"' in client.get(url).content.decode()


class TestUnchangedSave:
    def _imported(self, write_post, names):
        tags = "\n".join(f"  - '{name}'" for name in names)
        run_import(write_post("2022-05-31-NW1.md", POST.format(tags=tags)))
        return Article.objects.get()

    def test_a_tag_with_a_space_stays_one_tag_when_only_the_summary_changes(self, client, editor, write_post):
        article = self._imported(write_post, ["财联社新闻", "Federal Reserve"])
        url, data = change_form(client, article)
        data["summary"] = "编辑改写的摘要"

        assert client.post(url, data).status_code == 302
        article.refresh_from_db()
        assert sorted(article.tags.names()) == ["Federal Reserve", "财联社新闻"]
        assert article.summary == "编辑改写的摘要" and article.edited_since_import

    def test_an_unchanged_save_changes_nothing(self, client, editor, write_post):
        article = self._imported(write_post, ["宏观，A股", "A 股", "港股、美股"])
        versions = Version.objects.get_for_object(article).count()
        url, data = change_form(client, article)

        assert client.post(url, data).status_code == 302
        stored = Article.objects.get()
        assert sorted(stored.tags.names()) == sorted(["宏观，A股", "A 股", "港股、美股"])
        assert Tag.objects.count() == 3
        assert not stored.edited_since_import and stored.updated_at == article.updated_at
        assert Version.objects.get_for_object(article).count() == versions

    @pytest.mark.parametrize("name", TAG_NAMES)
    def test_every_name_survives_an_unchanged_save(self, client, editor, write_post, name):
        quoted = name.replace("'", "''")
        article = self._imported(write_post, [quoted])
        imported = list(article.tags.names())  # as the import cleans it (an ideographic space is a space)
        assert len(imported) == 1
        url, data = change_form(client, article)

        assert client.post(url, data).status_code == 302
        assert list(Article.objects.get().tags.names()) == imported
        assert not Article.objects.get().edited_since_import
