"""ASCII slugs for Chinese text.

Django's slugify() drops every Chinese character, so 财联社新闻 would get an empty slug;
the text is transliterated to pinyin first (财联社新闻 -> cai-lian-she-xin-wen).
"""

import functools
import gc
import hashlib
import os

from django.utils.text import slugify

# pypinyin's dictionaries are only read here: no defensive copy of them (it costs start-up time).
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")


def pinyin_slug(text, max_length=80):
    """Return a non-empty ASCII slug for ``text``, cut on a word boundary at ``max_length``."""
    words = _lazy_pinyin()(text or "", errors="default")
    slug = slugify(" ".join(words))
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    slug = slug.strip("-")
    if not slug:
        # Text with nothing transliterable (emoji, symbols): a stable name-derived slug.
        slug = "x-" + hashlib.sha1((text or "").encode()).hexdigest()[:10]
    return slug


@functools.cache
def _lazy_pinyin():
    """pypinyin's lazy_pinyin, imported when first needed: loading its dictionaries takes a quarter of
    a second, which every process would pay at start (an import from cron that finds nothing new,
    the web workers). They are some 190,000 lists that live as long as the process: the garbage
    collector, examining them over and over while they are made, was nearly a third of that."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        from pypinyin import lazy_pinyin
    finally:
        if collecting:
            gc.enable()
    return lazy_pinyin


def article_slug(title):
    """The slug an article titled ``title`` is given when saved without one."""
    return pinyin_slug(title, max_length=80)


def unique_slug(model, text, max_length=80, instance_pk=None):
    """``pinyin_slug`` made unique within ``model`` by a numeric suffix (homophones collide)."""
    base = pinyin_slug(text, max_length=max_length - 4)
    candidate, number = base, 2
    others = model._default_manager.exclude(pk=instance_pk) if instance_pk else model._default_manager
    while others.filter(slug=candidate).exists():
        candidate = f"{base}-{number}"
        number += 1
    return candidate
