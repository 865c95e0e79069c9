"""Publication times 1990-01-01..2100-12-31 (Beijing time) are validated at the model, and titles,
summaries and names lose the invisible format characters (bidirectional controls, zero-width
spaces…) that the rule of sanitize.plain_label now drops on every write: stored ones are dropped
here, each repair logged (as migration 0012 logs its own, for its reasons). The rule is frozen
here as it is today (articles/sanitize.py)."""

import logging
import re

import django.utils.timezone
from django.db import migrations, models

import articles.validators

FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b\u200c\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
    "|\u200d(?![\u2190-\u2bff\U0001f000-\U0001faff])|(?<![\u2190-\u2bff\ufe0f\U0001f000-\U0001faff])\u200d"
)
logger = logging.getLogger(__name__)
# (model, field, unique): a unique name whose cleaned form is taken is left, logged, for an editor.
FIELDS = [
    ("Article", "title", False),
    ("Article", "summary", False),
    ("Category", "name", True),
    ("Category", "title", False),
    ("Tag", "name", True),
    ("StockReference", "name", False),
]


def drop_format_characters(apps, schema_editor):
    for model_name, field, unique in FIELDS:
        model = apps.get_model("articles", model_name)
        for pk, value in model.objects.values_list("pk", field).iterator():
            cleaned = FORMAT_CHARACTERS.sub("", value or "")
            if cleaned == value:
                continue
            if unique and model.objects.filter(**{field: cleaned}).exclude(pk=pk).exists():
                logger.warning(
                    "0015: %s %s: %s %r holds invisible characters; left (taken)", model_name, pk, field, value
                )
                continue
            logger.warning(
                "0015: %s %s: %s %r lost its invisible characters: %r", model_name, pk, field, value, cleaned
            )
            model.objects.filter(pk=pk).update(**{field: cleaned})


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0014_review_bylines"),
    ]

    operations = [
        migrations.AlterField(
            model_name="article",
            name="published_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="晚于当前时间即为定时发布；须在 1990-01-01 到 2100-12-31 之间。",
                validators=[articles.validators.validate_publication_time],
                verbose_name="发布时间",
            ),
        ),
        migrations.RunPython(drop_format_characters, migrations.RunPython.noop),
    ]
