"""Load the bench's posts as blog entries: python load.py POSTS.jsonl [--create N]; prints JSON.

``--create N`` times N more entries made as the app makes them (Entry.save(), which renders the
body): the app has no tags, revisions or search index to write.
"""

import datetime as dt
import json
import sys
import time
from pathlib import Path

import django

django.setup()

from blog.models import ContentFormat, Entry  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402


def _entry(post, slug):
    return Entry(
        headline=post["title"], slug=slug, is_active=True, pub_date=dt.datetime.fromisoformat(post["published_at"]),
        content_format=ContentFormat.HTML, summary=post["summary"], summary_html=post["summary"],
        body=post["body"], body_html=post["body"], author=post["source_name"] or "金融消息",
    )  # fmt: skip


def load(posts):
    call_command("migrate", verbosity=0)
    Entry.objects.bulk_create(_entry(post, post["slug"]) for post in posts)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"entries": Entry.objects.count()}


def create(posts, count):
    started = time.perf_counter()
    for number, post in enumerate(posts[:count]):
        _entry(post, f"new-{number}").save()
    return {"seconds": time.perf_counter() - started, "created": count}


if __name__ == "__main__":
    posts = [json.loads(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()]
    if len(sys.argv) > 2 and sys.argv[2] == "--create":
        print(json.dumps(create(posts, int(sys.argv[3]))))
    else:
        print(json.dumps(load(posts)))
