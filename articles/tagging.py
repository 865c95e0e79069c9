"""Tag text as editors type it: Chinese keyboards give the full-width comma and the enumeration comma.

``宏观，A股、港股`` and ``宏观, A股 港股`` are both three tags. Used by taggit for every tag field
(settings.TAGGIT_TAGS_FROM_STRING / TAGGIT_STRING_FROM_TAGS).
"""

import re

from django.db import transaction

from .models import Tag, TaggedArticle

_SEPARATORS = re.compile(r"[,，、;；\s]+")


def parse_tags(text):
    names, seen = [], set()
    for name in _SEPARATORS.split(text or ""):
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def format_tags(tags):
    return "，".join(sorted(tag.name for tag in tags))


@transaction.atomic
def merge_tags(kept, merged):
    """Give every article of the ``merged`` tags the ``kept`` tag instead, then delete ``merged``."""
    merged_ids = [tag.pk for tag in merged if tag.pk != kept.pk]
    article_ids = set(TaggedArticle.objects.filter(tag_id__in=merged_ids).values_list("content_object_id", flat=True))
    already_tagged = set(
        TaggedArticle.objects.filter(tag=kept, content_object_id__in=article_ids).values_list(
            "content_object_id", flat=True
        )
    )
    TaggedArticle.objects.bulk_create(
        [TaggedArticle(tag=kept, content_object_id=article_id) for article_id in article_ids - already_tagged]
    )
    Tag.objects.filter(pk__in=merged_ids).delete()
