"""Tag text as editors type it: Chinese keyboards give the full-width comma and the enumeration comma.

``宏观，A股、港股`` and ``宏观, A股；港股`` are both three tags. Spaces belong to names
(``Federal Reserve``, ``S&P 500``), as in WordPress's tag box: only commas, enumeration commas,
semicolons and line breaks separate. A name that holds a separator (a post's YAML list can name a
tag ``宏观，A股``) is written in double quotes, as taggit does, with a quote inside doubled:
``"宏观，A股"``. format_tags writes every name so that parse_tags reads it back unchanged
(tests/test_editor.py::TestTagText), so an unchanged save keeps the tags the import made. Used by
taggit for every tag field (settings.TAGGIT_TAGS_FROM_STRING / TAGGIT_STRING_FROM_TAGS).
"""

import re

HELP_TEXT = (
    "用逗号（, 或 ，）、顿号或分号分隔多个标签；空格属于标签本身（Federal Reserve 是一个标签）。"
    '标签本身含有逗号、顿号、分号或引号时，用英文双引号把它括起来（引号内的 " 写两次），例如 "宏观，A股"。'
)

_SEPARATOR_CHARACTERS = ",，、;；"
_SEPARATORS = re.compile(rf"[{_SEPARATOR_CHARACTERS}\r\n]+")
# What a quoted name opens with, and what closes it: Chinese input methods type “ ” for ".
_QUOTES = {'"': '"', "“": "”"}
# Spaces may come before a quote: 宏观, "宏观，A股" as typed after a comma and its space.
_OPENING_QUOTE = re.compile(r'[^\S\r\n]*["“]')


def parse_tags(text):
    """The tag names in ``text``, in order, each once (case aside); a quoted name is read whole.

    An unclosed quote runs to the end of the text. Names are not cleaned here (the admin form
    holds them to the rules of titles and names).
    """
    names, seen = [], set()
    text = text or ""
    position = 0
    while position < len(text):
        separator = _SEPARATORS.match(text, position)
        if separator:
            position = separator.end()
            continue
        opening = _OPENING_QUOTE.match(text, position)
        if opening:
            name, position = _quoted(text, opening.end() - 1)
        else:
            end = _SEPARATORS.search(text, position)
            end = end.start() if end else len(text)
            name, position = text[position:end], end
        name = name.strip()
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def _quoted(text, position):
    """The name quoted at ``position`` and where reading goes on; a doubled closing quote is one quote."""
    closing = _QUOTES[text[position]]
    position += 1
    parts = []
    while position < len(text):
        end = text.find(closing, position)
        if end == -1:
            break
        parts.append(text[position:end])
        if text.startswith(closing * 2, end):
            parts.append(closing)
            position = end + 2
            continue
        return "".join(parts), end + 1
    parts.append(text[position:])
    return "".join(parts), len(text)


def format_tag(name):
    """``name`` as parse_tags reads it back: quoted when it holds a separator or a quote."""
    if _SEPARATORS.search(name) or '"' in name or name.startswith("“"):
        return '"' + name.replace('"', '""') + '"'
    return name


def format_tags(tags):
    return "，".join(format_tag(name) for name in sorted(tag.name for tag in tags))
