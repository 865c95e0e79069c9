"""Load the bench's posts into the Wagtail site: python load.py POSTS.jsonl [--create N]; prints JSON.

The 10,000 pages are written in bulk (treebeard paths computed here, as Page.add_child would make
them): through add_child and a published revision each, Wagtail creates about 14 a second.
``--create N`` then times N more pages made the way an editor's publish makes them.
"""

import datetime as dt
import json
import sys
import time
import uuid
from pathlib import Path

import django

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from news.models import NewsIndexPage, NewsPage, NewsPageTag  # noqa: E402
from taggit.models import Tag  # noqa: E402
from wagtail.models import Locale, Page, Site  # noqa: E402


def load(posts):
    call_command("migrate", verbosity=0)
    home = Site.objects.get(is_default_site=True).root_page
    everything = home.add_child(instance=NewsIndexPage(title="新闻", slug="news"))
    indexes = {}
    page_type = ContentType.objects.get_for_model(NewsPage)
    locale = Locale.get_default()
    tags = {}
    with transaction.atomic():
        for number, post in enumerate(posts):
            index = indexes.get(post["category"])
            if index is None:
                index = indexes[post["category"]] = everything.add_child(
                    instance=NewsIndexPage(title=post["category_title"], slug=post["category"])
                )
                index.children = 0
            index.children += 1
            moment = dt.datetime.fromisoformat(post["published_at"])
            page = NewsPage(
                title=post["title"], draft_title=post["title"], slug=post["slug"], content_type=page_type,
                live=True, has_unpublished_changes=False, url_path=f"{index.url_path}{post['slug']}/",
                first_published_at=moment, last_published_at=moment, locale=locale, translation_key=uuid.uuid4(),
                path=index.path + _step(index.children),
                depth=index.depth + 1, numchild=0,
                date=moment, summary=post["summary"], body=post["body"], source_name=post["source_name"],
            )  # fmt: skip
            page.save_base()  # Page.save() would look the path up again for each page
            for name in post["tags"]:
                if name not in tags:
                    tags[name] = Tag.objects.create(name=name, slug=f"t{len(tags)}")
            NewsPageTag.objects.bulk_create(NewsPageTag(content_object=page, tag=tags[name]) for name in post["tags"])
            if number % 1000 == 999:
                print(f"loaded {number + 1}", file=sys.stderr)
        for index in indexes.values():
            Page.objects.filter(pk=index.pk).update(numchild=index.children)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"pages": NewsPage.objects.count()}


def _step(position):
    """treebeard's path step for the ``position``-th child (1-based): base 36, four digits."""
    alphabet, digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", []
    for _ in range(Page.steplen):
        position, digit = divmod(position, len(alphabet))
        digits.append(alphabet[digit])
    return "".join(reversed(digits))


def create(posts, count):
    """Seconds to make ``count`` pages as publishing in the admin does: add_child, a revision, publish."""
    index = NewsIndexPage.objects.get(slug="news")
    started = time.perf_counter()
    for number, post in enumerate(posts[:count]):
        page = index.add_child(
            instance=NewsPage(
                title=post["title"], slug=f"new-{number}", date=dt.datetime.fromisoformat(post["published_at"]),
                summary=post["summary"], body=post["body"], source_name=post["source_name"], tags=post["tags"],
            )
        )  # fmt: skip
        page.save_revision().publish()
    return {"seconds": time.perf_counter() - started, "created": count}


if __name__ == "__main__":
    posts = [json.loads(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()]
    if len(sys.argv) > 2 and sys.argv[2] == "--create":
        print(json.dumps(create(posts, int(sys.argv[3]))))
    else:
        print(json.dumps(load(posts)))
