"""The lists' cover rendition (0023) names the cover it was made from, so that check_content can
find one a cover replaced since has left behind: the release before 0023, serving until the
restart (and again after going back to it), replaces a cover without knowing of the rendition.

Not filled for stored renditions: which cover each was made from is not known (0025 made them
while the release before could replace covers). check_content lists them, and
--remake-list-covers makes them again. A column with a database default, so that the release
before inserts articles without naming it, added by ALTER TABLE on both databases: Django's
AddField copies the whole articles table on SQLite for a NOT NULL column (0023 did), holding
every write of the release still serving, and the import's, for as long as the copy takes."""

from django.db import migrations, models

ADD_COLUMN = "ALTER TABLE articles_article ADD COLUMN cover_list_source varchar(100) DEFAULT '' NOT NULL"
DROP_COLUMN = "ALTER TABLE articles_article DROP COLUMN cover_list_source"


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0025_list_covers_for_stored_covers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(ADD_COLUMN, DROP_COLUMN)],
            state_operations=[
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
            ],
        ),
    ]
