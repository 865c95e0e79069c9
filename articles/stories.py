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
        # A story's lead is its first article: only those stored before this one can lead it.
        earlier = Q(created_at__lt=article.created_at) | Q(created_at=article.created_at, pk__lt=article.pk)
        candidates = candidates.filter(earlier)
    key = title_key(article.title)
    rows = candidates.order_by("created_at", "id").values_list("pk", "info_code", "title", "category_id", "story_id")
    for pk, info_code, title, category_id, story_id in rows:
        if info_code in same_item:
            return Article.objects.get(pk=story_id or pk)
        if key and category_id != article.category_id and title_key(title) == key:
            lead = Article.objects.get(pk=story_id or pk)
            # Two articles of one category with one title are two items (a daily 午间公告, say).
            if article.category_id not in {lead.category_id, *lead.copies.values_list("category_id", flat=True)}:
                return lead
    return None


def join_stored_stories():
    """Apply the rules to every stored article, oldest first; return (joined, kept apart) articles.

    An article or lead that an editor changed is kept apart (an editor joins them in the admin).
    """
    from . import publishing

    joined, kept_apart = [], []
    for article in Article.objects.filter(story__isnull=True).order_by("created_at", "id").iterator():
        lead = lead_for(article)
        if lead is None:
            continue
        if article.edited_since_import or lead.edited_since_import:
            kept_apart.append((article, lead))
        else:
            publishing.join_story(article, lead)
            joined.append((article, lead))
    return joined, kept_apart
