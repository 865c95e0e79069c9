"""The lists' cover rendition (0023) names the cover it was made from, so that check_content can
find one a cover replaced since has left behind: the release before 0023, serving until the
restart (and again after going back to it), replaces a cover without knowing of the rendition.

Not filled for stored renditions: which cover each was made from is not known (0025 made them
while the release before could replace covers). check_content lists them, and
--remake-list-covers makes them again. A schema change alone, with a database default, as 0023's:
the release before inserts articles without naming the column."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0025_list_covers_for_stored_covers"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="cover_list_source",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                max_length=100,
                verbose_name="列表封面小图的来源",
            ),
        ),
    ]
