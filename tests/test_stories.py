"""One story, once: the same East Money item mirrored into several categories."""

import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article
from articles.stories import item_number
from tests.conftest import post_text, run_import
from tests.factories import make_article, make_category

pytestmark = pytest.mark.django_db
# In the corpus: emnews' 2022-05-31-202205312398034850.md and cailianshe's 2022-05-31-NW202205312398034850.md.
LEAD, COPY = "202205312398034850", "NW202205312398034850"


def codes_in(content):
    import re

    return re.findall(r'href="/news/([^/"]+)/', content)


class TestTheCorpus:
    def test_the_pairs_are_joined_at_import(self, imported_corpus):
        copies = Article.objects.filter(story__isnull=False).select_related("story")
        assert {(copy.info_code, copy.story.info_code) for copy in copies} >= {(COPY, LEAD)}
        assert copies.count() == 3
        assert all(item_number(copy.info_code) == item_number(copy.story.info_code) for copy in copies)

    def test_the_story_is_shown_once_where_everything_is_listed(self, client, imported_corpus):
        from bs4 import BeautifulSoup

        lead = Article.objects.get(info_code=LEAD)
        home = BeautifulSoup(client.get("/").content, "lxml").select_one("section.latest")
        archive = BeautifulSoup(client.get("/archive/2022/5/31/").content, "lxml").select_one("ul.article-list")
        feed = BeautifulSoup(client.get("/feed.xml").content, "xml")
        for where, links in [
            ("home", [a["href"] for a in home.select("a.article-item-title")]),
            ("archive", [a["href"] for a in archive.select("a.article-item-title")]),
            ("feed", [link["href"] for link in feed.select("entry > link")]),
        ]:
            paths = [link.removeprefix("http://testserver") for link in links]
            assert paths.count(lead.get_absolute_url()) == 1, where
            assert not [path for path in paths if COPY in path], where

    def test_each_category_still_lists_it_and_links_the_story(self, client, imported_corpus):
        lead, copy = Article.objects.get(info_code=LEAD), Article.objects.get(info_code=COPY)
        for category in (lead.category, copy.category):
            content = client.get(category.get_absolute_url()).content.decode()
            assert lead.get_absolute_url() in content and f"/news/{COPY}/" not in content

    def test_both_codes_and_both_old_urls_lead_to_the_story_page(self, client, imported_corpus):
        lead, copy = Article.objects.get(info_code=LEAD), Article.objects.get(info_code=COPY)
        for url in (
            f"/news/{COPY}/",
            f"/news/{COPY}/{copy.slug}/",
            f"/{copy.category.name}/2022/05/31/{COPY}.html",
            f"/{lead.category.name}/2022/05/31/{LEAD}.html",
        ):
            response = client.get(url)
            assert response.status_code == 301 and response["Location"] == lead.get_absolute_url(), url

    def test_the_story_page_links_every_category_it_appeared_in(self, client, imported_corpus):
        lead, copy = Article.objects.get(info_code=LEAD), Article.objects.get(info_code=COPY)
        content = client.get(lead.get_absolute_url()).content.decode()
        breadcrumb = content.split('class="breadcrumb"')[1].split("</p>")[0]
        assert lead.category.get_absolute_url() in breadcrumb and copy.category.get_absolute_url() in breadcrumb

    def test_lists_of_leads_read_no_story_and_a_category_s_list_reads_its_copy_s_lead_along(self, imported_corpus):
        # A lead has no story: joining it read only NULLs; a copy's address is its lead's.
        leads = Article.objects.listed().stories()
        assert 'JOIN "articles_article"' not in str(leads.query)
        assert LEAD in [article.info_code for article in leads]
        copy = Article.objects.get(info_code=COPY)
        in_category = Article.objects.listed().filter(category=copy.category)
        assert 'LEFT OUTER JOIN "articles_article"' in str(in_category.query)
        listed_copy = next(article for article in in_category if article.info_code == COPY)
        assert listed_copy.story.info_code == LEAD

    def test_the_api_shows_it_once_and_a_category_its_own_copy(self, client, imported_corpus):
        copy = Article.objects.get(info_code=COPY)
        items = client.get("/api/v1/articles/", {"limit": 100}).json()["items"]
        codes = [item["info_code"] for item in items]
        assert LEAD in codes and COPY not in codes
        in_category = client.get("/api/v1/articles/", {"category": copy.category.slug, "limit": 100}).json()["items"]
        assert COPY in [item["info_code"] for item in in_category]
        response = client.get(f"/api/v1/articles/{COPY}/")
        assert response.status_code == 301 and response["Location"] == f"/api/v1/articles/{LEAD}/"


class TestRules:
    def test_the_same_title_within_an_hour_in_another_category_is_one_story(self, write_post):
        same = '"央行宣布降准"'
        write_post("2022-01-07-A1.md", post_text(title=same))
        write_post("2022-01-07-B1.md", post_text(title='"央行 宣布降准！"', extra="").replace("cailianshe", "emnews"))
        write_post("2022-01-07-C1.md", post_text(title=same))  # the same category: another article
        later = post_text(title=same, date="2022-01-07 15:35:20 +0800").replace("cailianshe", "zhengquan")
        write_post("2022-01-07-D1.md", later)  # three hours later: another article

        run_import(write_post("x.txt", "").parent)

        assert dict(Article.objects.values_list("info_code", "story__info_code")) == {
            "A1": None, "B1": "A1", "C1": None, "D1": None,
        }  # fmt: skip

    def test_a_batch_joins_stories_as_files_imported_one_by_one_do(self, write_post):
        """The import looks for leads a window at a time per batch (stories.BatchLeads): the same
        stories as lead_for() per file, across days, items far apart, and posts of the same batch."""
        from articles.intake.importer import PostImporter, find_post_files

        def post(name, title, date, category="cailianshe"):
            write_post(name, post_text(title=title, date=f"{date} +0800").replace("cailianshe", category))

        post("2022-01-01-5008.md", '"一周以前"', "2022-01-01 09:00:00", "emnews")
        post("2022-01-07-5001.md", '"降准"', "2022-01-07 09:00:00", "emnews")
        folder = write_post("2022-01-07-5002.md", post_text(title='"加息"', date="2022-01-07 09:10:00 +0800")).parent
        list(PostImporter().import_files(list(find_post_files([folder]))))  # stored before the batch
        post("2022-01-07-NW5002.md", '"别的标题"', "2022-01-07 09:20:00", "emnews")  # the same item
        post("2022-01-07-5003.md", '"降准"', "2022-01-07 09:50:00")  # its title, another category
        post("2022-01-09-NW5001.md", '"两天以后"', "2022-01-09 08:00:00")  # the same item, days later
        post("2022-01-09-NW5008.md", '"八天以后"', "2022-01-09 09:00:00")  # its lead in no window read
        post("2022-01-09-5004.md", '"午间公告"', "2022-01-09 08:00:00", "emnews")
        post("2022-01-09-5005.md", '"午间公告"', "2022-01-09 08:30:00")  # a batch's own post leads
        post("2022-01-12-5006.md", '"午间公告"', "2022-01-12 08:30:00", "emnews")  # beyond the window read
        post("2022-01-12-5007.md", '"午间公告"', "2022-01-12 09:00:00")
        post("2022-01-07-5009.md", '"跨小时"', "2022-01-07 10:55:00", "emnews")
        post("2022-01-07-5010.md", '"跨小时"', "2022-01-07 11:40:00")  # in the next hour
        post("2022-01-07-5011.md", '"整一小时"', "2022-01-07 12:30:00", "emnews")
        post("2022-01-07-5012.md", '"整一小时"', "2022-01-07 13:30:00")  # the window's very end
        files = list(find_post_files([folder]))

        def stories():
            return dict(Article.objects.values_list("info_code", "story__info_code"))

        list(PostImporter().import_files(files))
        in_a_batch = stories()
        Article.objects.exclude(info_code__in=["5008", "5001", "5002"]).delete()
        for path, _ in files:
            PostImporter().import_file(path)

        assert in_a_batch == stories() == {
            "5008": None, "5001": None, "5002": None, "NW5002": "5002", "5003": "5001", "NW5001": "5001", "NW5008": "5008",
            "5004": None, "5005": "5004", "5006": None, "5007": "5006",
            "5009": None, "5010": "5009", "5011": None, "5012": "5011",
        }  # fmt: skip

    def test_an_edited_lead_is_never_joined_silently(self, write_post):
        run_import(write_post("2022-01-07-1001.md", post_text()))
        Article.objects.update(edited_since_import=True)

        succeeded, stdout, stderr = run_import(write_post("2022-01-07-NW1001.md", post_text()))

        assert succeeded and "the same news item as 1001, which an editor changed: kept apart" in stderr
        assert not Article.objects.filter(story__isnull=False).exists()

    def test_stored_articles_are_joined_by_the_command(self):
        now = timezone.now()
        emnews, other = make_category("emnews"), make_category("cailianshe")
        lead = make_article(info_code="2001", category=emnews, published_at=now)
        copy = make_article(info_code="NW2001", category=other, published_at=now)
        make_article(info_code="3001", title="编辑改过", category=emnews, published_at=now - dt.timedelta(days=1))
        edited = make_article(info_code="NW3001", category=other, published_at=now - dt.timedelta(days=1))
        Article.objects.filter(pk=edited.pk).update(edited_since_import=True)
        stdout, stderr = io.StringIO(), io.StringIO()

        call_command("join_stories", stdout=stdout, stderr=stderr)

        assert Article.objects.get(pk=copy.pk).story == lead
        assert Article.objects.get(pk=edited.pk).story is None
        assert "1 joined, 1 kept apart." in stdout.getvalue() and "kept apart NW3001 and 3001" in stderr.getvalue()


class TestEditors:
    @pytest.fixture
    def story(self):
        lead = make_article(info_code="4001", category=make_category("emnews"))
        copy = make_article(info_code="NW4001", category=make_category("cailianshe"), story=lead)
        return lead, copy

    def test_an_editor_splits_a_story(self, client, story):
        lead, copy = story
        client.force_login(User.objects.create_superuser("boss", password="x"))

        client.post("/admin/articles/article/", {"action": "split_stories", "_selected_action": [lead.pk]})

        assert Article.objects.get(pk=copy.pk).story is None
        assert client.get(f"/news/{copy.info_code}/").status_code == 301  # to its own slug now
        assert client.get(Article.objects.get(pk=copy.pk).get_absolute_url()).status_code == 200

    @pytest.mark.parametrize("target", ["self", "copy"])
    def test_a_story_can_only_lead_to_a_lead(self, client, story, target):
        lead, copy = story
        other = make_article(info_code="5001")
        chosen = {"self": other, "copy": copy}[target]
        client.force_login(User.objects.create_superuser("boss", password="x"))
        from tests.factories import article_form

        response = client.post(
            f"/admin/articles/article/{other.pk}/change/",
            article_form(other.category, info_code="5001", story=chosen.pk, status="published"),
        )

        assert response.status_code == 200 and response.context["adminform"].form.errors["story"]
        assert Article.objects.get(pk=other.pk).story is None
