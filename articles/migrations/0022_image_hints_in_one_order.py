"""Stored bodies get their images' loading hints in the one order sanitize_html now writes
(``loading="lazy" decoding="async"``). nh3 wrote them in the order of a Rust HashMap, drawn anew by
each process: an unchanged body cleaned again in another process (an editor's save) differed from
the stored one and was saved as a change, a revision and an edit a later import would call a
conflict. The same markup, so readers see no change; the pattern is sanitize.py's, frozen here."""

import re

from django.db import migrations

REVERSED = re.compile(r'(<img\b[^>]*?) decoding="async" loading="lazy"(?=>)')
BATCH = 500


def put_hints_in_order(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    reversed_hints = Article.objects.filter(body__contains='decoding="async" loading="lazy"')
    last = 0
    while True:
        batch = list(reversed_hints.filter(pk__gt=last).order_by("pk").only("pk", "body")[:BATCH])
        if not batch:
            return
        for article in batch:
            article.body = REVERSED.sub(r'\1 loading="lazy" decoding="async"', article.body)
        # Not save(): the article's content and its updated_at are as they were.
        Article.objects.bulk_update(batch, ["body"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0021_stock_listing"),
    ]

    operations = [
        migrations.RunPython(put_hints_in_order, migrations.RunPython.noop),
    ]
