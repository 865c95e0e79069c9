"""One story, once: the scraper mirrors an East Money item into several categories.

``2022-05-31-202205312398034850.md`` (emnews) and ``2022-05-31-NW202205312398034850.md``
(cailianshe) are one news item. Articles that are the same item (the same number with or without
the ``NW`` prefix), or that carry the same title within STORY_WINDOW of each other in different
categories, are one story: the first one is its lead, whose page readers get, and the others are
its copies (``Article.story``). Each category still lists its copy; everything else shows the
story once. An article an editor changed is never joined by the rules: the import reports it.
"""

import datetime as dt
import re
import unicodedata

from django.db.models import Q

from .models import Article

STORY_WINDOW_MINUTES = 60
_NOT_TITLE_TEXT = re.compile(r"[\W_]+")


def title_key(title):
    """A title as compared for the story rule: width, case, spaces and punctuation ignored."""
    return _NOT_TITLE_TEXT.sub("", unicodedata.normalize("NFKC", title)).casefold()


def item_number(info_code):
    """East Money's number of the item: the info code without its NW prefix."""
    return info_code[2:] if info_code.startswith("NW") else info_code


def lead_for(article):
    """The lead of the story ``article`` belongs to by the rules (an article stored before it), or None."""
    number = item_number(article.info_code)
    same_item = {number, f"NW{number}"} - {article.info_code}
    window = dt.timedelta(minutes=STORY_WINDOW_MINUTES)
    nearby = Q(published_at__range=(article.published_at - window, article.published_at + window))
    candidates = Article.objects.filter(Q(info_code__in=same_item) | nearby)
    if article.pk is not None:
        candidates = candidates.exclude(pk=article.pk).exclude(story=article)
    key = title_key(article.title)
    rows = candidates.order_by("created_at", "id").values_list("pk", "info_code", "title", "category_id", "story_id")
    for pk, info_code, title, category_id, story_id in rows:
        same_title = key and category_id != article.category_id and title_key(title) == key
        if info_code in same_item or same_title:
            return Article.objects.get(pk=story_id or pk)
    return None
