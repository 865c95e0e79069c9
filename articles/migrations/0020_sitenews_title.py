"""The old site's own news (category ``sitenews``, imported with no title) is shown by a Chinese
title, as the import now gives it (articles/intake/posts.py: CATEGORY_TITLES, frozen here as it is
today). A title an editor gave it is kept."""

from django.db import migrations

NAME, TITLE = "sitenews", "站长消息"


def give_the_title(apps, schema_editor):
    Category = apps.get_model("articles", "Category")
    Category.objects.filter(name=NAME, title="").update(title=TITLE)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0019_story_order_index"),
    ]

    operations = [
        migrations.RunPython(give_the_title, migrations.RunPython.noop),
    ]
