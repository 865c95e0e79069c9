"""Tag text as editors type it: Chinese keyboards give the full-width comma and the enumeration comma.

``宏观，A股、港股`` and ``宏观, A股 港股`` are both three tags. A space between two Latin letters or
digits belongs to the name: ``Federal Reserve`` is one tag, and an imported ``Federal Reserve`` tag
survives a save of the form, which shows it as typed. Used by taggit for every tag field
(settings.TAGGIT_TAGS_FROM_STRING / TAGGIT_STRING_FROM_TAGS).
"""

import re

_SEPARATORS = re.compile(r"\s*[,，、;；]+\s*|(?<![\sA-Za-z0-9])\s+|\s+(?![\sA-Za-z0-9])")


def parse_tags(text):
    names, seen = [], set()
    for name in _SEPARATORS.split((text or "").strip()):
        name = " ".join(name.split())
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def format_tags(tags):
    return "，".join(sorted(tag.name for tag in tags))
