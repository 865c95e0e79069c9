"""Every stored cover gets the lists' 192×128 rendition (0023's field), as images.make_list_cover
(frozen here as it is today) makes it for a new one. A cover whose file cannot be read (a database
restored without its media) is logged and keeps being listed from its thumbnail.

Not atomic, and apart from 0023's schema change: it runs while the release before it serves, and
reading and scaling each cover takes tens of milliseconds (65 ms for a 1600×1200 photo), minutes
for a site's thousands. Inside 0023's transaction, PostgreSQL's lock on the articles' table (its
ALTER TABLE) held every page that reads articles until the last cover was made. Here each
article's row is written in a transaction of its own, and readers wait on nothing. Interrupted,
it is run again by the next migrate and goes on with the covers still without their rendition.
"""

import io
import logging
from pathlib import PurePath

from django.core.files.base import ContentFile
from django.db import migrations

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
                    "0025: article %s's cover %s not read (%s); listed from its thumbnail", article.pk, name, error
                )
                continue
            stored = field.storage.save(field.generate_filename(article, content.name), content, field.max_length)
            # Not save(): the article's content and its updated_at are as they were. Only while
            # its cover is still the one read (an editor may have replaced it meanwhile).
            Article.objects.filter(pk=article.pk, cover_image=article.cover_image.name, cover_list_image="").update(
                cover_list_image=stored
            )
        last = batch[-1].pk


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("articles", "0024_search_tags_and_names"),
    ]

    operations = [
        migrations.RunPython(make_list_covers, migrations.RunPython.noop),
    ]
