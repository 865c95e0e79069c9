"""Lists show a cover in a 96×64 CSS px slot from a rendition of 192×128 pixels (2× screens), not
from the 480 px thumbnail: its field, empty for every stored cover until migration 0025 makes
theirs (apart from this one, which is a schema change: on PostgreSQL its ALTER TABLE locks the
articles' table until its transaction commits, readers included).

The column keeps a database default (db_default): the release before this one, which serves and
imports until the restart (and again after going back to it), inserts articles without naming it;
without a default every such insert failed its NOT NULL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0022_image_hints_in_one_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="cover_list_image",
            field=models.ImageField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                upload_to="covers/thumbnails/%Y/%m/",
                verbose_name="列表封面小图",
            ),
        ),
    ]
