"""Lists show a cover in a 96×64 CSS px slot from a rendition of 192×128 pixels (2× screens), not
from the 480 px thumbnail: every stored cover gets it here, as images.make_list_cover (frozen here
as it is today) makes it for a new one. A cover whose file cannot be read (a database restored
without its media) is logged and keeps being listed from its thumbnail."""

import io
import logging
from pathlib import PurePath

from django.core.files.base import ContentFile
from django.db import migrations, models

SIZE = (192, 128)
BATCH = 200
# As 0012: said through logging, which the deployment's log keeps, whatever migrate's --verbosity.
logger = logging.getLogger(__name__)


def _list_cover(file):
    from PIL import Image, ImageOps

    with file.open("rb"), Image.open(file) as image:
        cover = ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), SIZE)
    output = io.BytesIO()
    cover.save(output, format="JPEG", quality=82, optimize=True)
    return ContentFile(output.getvalue(), name=f"{PurePath(file.name).stem}-{SIZE[0]}x{SIZE[1]}.jpg")


def make_list_covers(apps, schema_editor):
    from PIL import UnidentifiedImageError

    Article = apps.get_model("articles", "Article")
    field = Article._meta.get_field("cover_list_image")
    without = Article.objects.exclude(cover_image="").filter(cover_list_image="")
    last = 0
    while batch := list(without.filter(pk__gt=last).order_by("pk").only("pk", "cover_image")[:BATCH]):
        for article in batch:
            try:
                content = _list_cover(article.cover_image)
            except (OSError, UnidentifiedImageError, ValueError) as error:
                name = article.cover_image.name
                logger.warning(
                    "0023: article %s's cover %s not read (%s); listed from its thumbnail", article.pk, name, error
                )
                continue
            stored = field.storage.save(field.generate_filename(article, content.name), content, field.max_length)
            # Not save(): the article's content and its updated_at are as they were.
            Article.objects.filter(pk=article.pk).update(cover_list_image=stored)
        last = batch[-1].pk


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
        migrations.RunPython(make_list_covers, migrations.RunPython.noop),
    ]
