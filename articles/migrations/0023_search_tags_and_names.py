"""Search finds an article by its tags: an index entry now holds a token for each tag its article
carries (articles/search/text.py: tag_token). The entries of the articles carrying a tag are taken
out here, in SQL frozen as it is; after migrate, the live code writes them again with their tags
(articles.search.index_unindexed_articles, on post_migrate), as it wrote every entry after 0005.
The entries of articles without tags are already what the live code writes.

Going back leaves the entries as they are: the code before this migration never asks for a tag's
token, and writes an entry without them at the article's next change.

And an index on the capitals of tags' and stocks' names: search looks a query up by the name,
case aside (articles/search/names.py)."""

import django.db.models.functions.text
from django.db import migrations, models

TAKE_OUT_TAGGED = {
    "sqlite": "DELETE FROM articles_search_document WHERE article_id IN "
    "(SELECT content_object_id FROM articles_taggedarticle)",
    "postgresql": "DELETE FROM articles_search WHERE article_id IN "
    "(SELECT content_object_id FROM articles_taggedarticle)",
}


def take_out_tagged_entries(apps, schema_editor):
    schema_editor.execute(TAKE_OUT_TAGGED[schema_editor.connection.vendor])


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0022_image_hints_in_one_order"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="stockreference",
            index=models.Index(django.db.models.functions.text.Upper("name"), name="stock_name_capitals"),
        ),
        migrations.AddIndex(
            model_name="tag",
            index=models.Index(django.db.models.functions.text.Upper("name"), name="tag_name_capitals"),
        ),
        migrations.RunPython(take_out_tagged_entries, migrations.RunPython.noop),
    ]
