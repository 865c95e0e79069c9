"""ASCII slugs for Chinese text.

Django's slugify() drops every Chinese character, so 财联社新闻 would get an empty slug;
the text is transliterated to pinyin first (财联社新闻 -> cai-lian-she-xin-wen).
"""

import functools
import gc
import hashlib
import json
import os
import re
import threading
from importlib.util import find_spec
from pathlib import Path

from django.utils.text import slugify

# pypinyin's dictionaries are only read here: no defensive copy of them (it costs start-up time).
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
# pypinyin starts without its phrase dictionary (47,000 words, the readings of polyphones in context:
# 银行 yin-hang, not yin-xing), two thirds of its start-up; _PhraseDictionary gives it the words each
# text contains before it reads the text, so the slugs are those of the whole dictionary.
os.environ["PYPINYIN_NO_PHRASES"] = "1"


def pinyin_slug(text, max_length=80):
    """Return a non-empty ASCII slug for ``text``, cut on a word boundary at ``max_length``."""
    text = text or ""
    _phrases().provide(text)
    words = _lazy_pinyin()(text, errors="default")
    slug = slugify(" ".join(words))
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    slug = slug.strip("-")
    if not slug:
        # Text with nothing transliterable (emoji, symbols): a stable name-derived slug.
        slug = "x-" + hashlib.sha1(text.encode()).hexdigest()[:10]
    return slug


def load_transliteration():
    """Load pypinyin now rather than at the first slug: before forking processes that will all
    make slugs (the import's workers), which then share what one loaded."""
    _phrases()


@functools.cache
def _lazy_pinyin():
    """pypinyin's lazy_pinyin, imported when first needed: loading its character dictionary takes a
    twentieth of a second, which every process would pay at start (an import from cron that finds
    nothing new, the web workers). Its entries, and the phrases' lists, live as long as the process:
    the garbage collector, examining them over and over while they are made, was a third of that."""
    with _collector_paused():
        from pypinyin import lazy_pinyin
    return lazy_pinyin


@functools.cache
def _phrases():
    _lazy_pinyin()
    return _PhraseDictionary()


class _PhraseDictionary:
    """pypinyin's phrase dictionary, handed to it a text's words at a time.

    pypinyin cuts a run of Chinese into the longest words its dictionary holds (pypinyin.seg.mmseg),
    asking only whether a part of the run is a word or the beginning of one. Given every word and
    every beginning of a word found among the text's parts, it cuts the text as with the whole
    dictionary. A process that transliterates many texts (a first import) gives the segmenter
    every word once, the bisecting costing more by then, and pypinyin each text's words with their
    readings: reading every word's readings (json.loads of the whole file) took three times as long
    as the rest of it, and most words are in no title.
    """

    WHOLE_AFTER_TEXTS = 20

    def __init__(self):
        from pypinyin.constants import PHRASES_DICT
        from pypinyin.seg import mmseg

        self.words, self.segmenter = PHRASES_DICT, mmseg.seg
        # Imported with its phrases already (before this module set PYPINYIN_NO_PHRASES): nothing to add.
        self.whole = bool(PHRASES_DICT)
        self.texts = 0
        self.lock = threading.Lock()
        self.source = None
        # Where each word's line is in the file ({word: offset}), once the segmenter has them all.
        self.offsets = None
        self.longest = 0

    def provide(self, text):
        if self.whole:
            return
        with self.lock:
            if self.source is None:
                self.source = _SortedPhrases(Path(find_spec("pypinyin").origin).with_name("phrases_dict.json"))
            self.texts += 1
            if self.offsets is not None:
                self.words.update(self._readings_within(text))
                return
            # A phrases_dict.json written otherwise (another pypinyin) is read whole, as pypinyin would.
            if not self.source.bisectable:
                with _collector_paused():
                    words = self.source.everything()
                    self.words.update(words)
                    self.segmenter.train(words)
                self.whole, self.source = True, None
                return
            if self.texts > self.WHOLE_AFTER_TEXTS:
                with _collector_paused():
                    self.offsets = self.source.offsets()
                    self.segmenter.train(self.offsets)
                self.longest = max(map(len, self.offsets), default=0)
                self.words.update(self._readings_within(text))
                return
            words, beginnings = self.source.within(text)
            self.words.update(words)
            self.segmenter.train(beginnings)

    def _readings_within(self, text):
        """{word: readings} of the dictionary's words among ``text``'s parts that pypinyin lacks."""
        found = {}
        for start in range(len(text)):
            for end in range(start + 1, min(len(text), start + self.longest) + 1):
                part = text[start:end]
                if part not in self.words and part in self.offsets:
                    found[part] = self.source.readings(self.offsets[part], part)
        return found


# A word's line in phrases_dict.json (``"银行": [``), as _SortedPhrases._word_at_or_after finds it.
_WORD_LINE = re.compile(r'^"([^"\n]*)": \[$', re.MULTILINE)


class _SortedPhrases:
    """pypinyin's phrases_dict.json read as it is written: one word a line (``"银行": [``, its readings on
    the lines after it), the words in sorted order, so that a word is found by bisecting the text."""

    def __init__(self, path):
        self.text = path.read_text(encoding="utf-8")
        self.decoder = json.JSONDecoder()
        self.bisectable = self.text.startswith('{\n"') and self._word_at_or_after(0)[0] == 2

    def everything(self):
        return json.loads(self.text)

    def offsets(self):
        """{word: where its line starts} for every word."""
        return {match[1]: match.start() for match in _WORD_LINE.finditer(self.text)}

    def readings(self, position, word):
        """The readings of ``word``, whose line starts at ``position``."""
        return self.decoder.raw_decode(self.text, position + len(word) + len('"": '))[0]

    def within(self, text):
        """The dictionary's words among ``text``'s parts with their readings, and the parts that
        begin a word."""
        words, beginnings = {}, []
        for start in range(len(text)):
            for end in range(start + 1, len(text) + 1):
                part = text[start:end]
                position, word = self._first_word_from(part)
                if word is None or not word.startswith(part):
                    break
                beginnings.append(part)
                if word == part:
                    words[part] = self.readings(position, word)
        return words, beginnings

    def _first_word_from(self, part):
        """The first word, in sorted order, not before ``part``, and where its line starts."""
        low, high = 0, len(self.text)
        while low < high:
            middle = (low + high) // 2
            position, word = self._word_at_or_after(middle)
            if word is None or word >= part:
                high = middle
            else:
                low = position + 1
        return self._word_at_or_after(low)

    def _word_at_or_after(self, offset):
        """The first word whose line starts at ``offset`` or after it: (where, word) or (end, None)."""
        end = self.text.find('": [\n', offset)
        while end != -1:
            start = self.text.rfind("\n", 0, end) + 1
            if start >= offset:
                return start, self.text[start + 1 : end]
            end = self.text.find('": [\n', end + 1)
        return len(self.text), None


class _collector_paused:
    def __enter__(self):
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info):
        if self.collecting:
            gc.enable()


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
