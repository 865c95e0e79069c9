"""Lists show a cover in a 96×64 CSS px slot from a rendition of 192×128 pixels (2× screens), not
from the 480 px thumbnail: its field, empty for every stored cover until migration 0025 makes
theirs (apart from this one, which is a schema change: on PostgreSQL its ALTER TABLE locks the
articles' table until its transaction commits, readers included)."""

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
                blank=True, editable=False, upload_to="covers/thumbnails/%Y/%m/", verbose_name="列表封面小图"
            ),
        ),
    ]
