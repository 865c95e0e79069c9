"""The one HTML allow-list, used by the import, the API's ingest and the admin when an editor saves.

Imported HTML comes from a scraper and is untrusted: only the tags and attributes below survive,
links may only be http(s)/mailto, and nothing that executes (scripts, event handlers, styles,
iframes, forms, SVG/MathML) is kept.
"""

import html
import re

import nh3
from django.core.exceptions import ValidationError
from lxml import etree

from .pasted import editor_forms

# What the body editor writes (articles/editor.py), no more and no less: a body an editor opens is
# saved as it was. Equivalent forms (<b>, <h1>, Word's lists) are rewritten first (articles/pasted.py).
ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
    "hr", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}

_body_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
    set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"}},
)
_text_cleaner = nh3.Cleaner(tags=set(), attributes={}, strip_comments=True)

# C0 controls but tab and newlines, DEL, C1 controls, lone surrogates and the two non-characters
# XML forbids: never part of an article, and one in a feed makes the whole feed unreadable.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# Real bodies nest a few elements deep. The allow-list's cost grows with the square of the depth
# (100,000 nested <div>s: half a minute), so sanitize_html refuses deeper bodies before it runs.
MAX_HTML_DEPTH = 100

# Enough for markup escaped twice over; a name still changing after that is refused by validation.
_MAX_LABEL_PASSES = 5
_EMPTY_PARAGRAPH = re.compile(r"<p>(?:\s|&nbsp;|\u3000|<br>)*</p>")
_WHITESPACE = re.compile(r"\s+")


def sanitize_html(fragment):
    """Return ``fragment`` reduced to the allow-list, with empty paragraphs removed; ValidationError
    for a fragment nested deeper than MAX_HTML_DEPTH, which is refused rather than cleaned."""
    fragment = without_control_characters(fragment or "")
    if html_depth(fragment) > MAX_HTML_DEPTH:
        raise ValidationError(
            "正文的 HTML 嵌套超过 %(limit)s 层，无法安全清理：请简化它的结构。",
            code="too_deep",
            params={"limit": MAX_HTML_DEPTH},
        )
    rewritten = editor_forms(fragment)
    cleaned = _body_cleaner.clean(rewritten)
    if rewritten is not fragment:
        # lxml writes what it parsed, nesting included (a heading in a heading from broken input),
        # which the allow-list's HTML5 parser reads differently once: read again, it is settled.
        cleaned = _body_cleaner.clean(cleaned)
    return _EMPTY_PARAGRAPH.sub("", without_control_characters(cleaned)).strip()


def without_control_characters(text):
    return CONTROL_CHARACTERS.sub("", text)


def html_depth(fragment):
    """How deeply the elements of ``fragment`` nest, as an HTML parser reads it (in linear time;
    libxml2 stops nesting at 254, which is still over MAX_HTML_DEPTH)."""
    parser = etree.HTMLParser()
    parser.feed(f"<body>{fragment}</body>")
    deepest = depth = 0
    for event, _ in etree.iterwalk(parser.close(), events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return max(deepest - 2, 0)  # not counting <html> and <body>


def plain_text(fragment, whitespace="collapse"):
    """Return ``fragment`` as plain text: tags and the content of scripts/styles dropped.

    Used for titles, summaries, category, tag and stock names, which the templates escape.
    ``whitespace`` is "collapse" (one line), "lines" (keep line breaks) or "keep" (only trim:
    the old site's category names carry meaningful double spaces).
    """
    # Also after unescaping: an entity (&#11;) may stand for a control character.
    text = without_control_characters(html.unescape(_text_cleaner.clean(without_control_characters(fragment or ""))))
    text = text.strip()
    if whitespace == "keep":
        return text
    if whitespace == "lines":
        lines = (_WHITESPACE.sub(" ", line).strip() for line in text.splitlines())
        return "\n".join(line for line in lines if line)
    return _WHITESPACE.sub(" ", text)


def plain_label(fragment, whitespace="collapse", max_length=None):
    """The text of a title or a name (category, tag, stock): ``plain_text`` until nothing in it
    reads as markup any more, cut to ``max_length``.

    Escaped markup (``&lt;b&gt;``) is markup again once its entities are decoded, so one pass is
    not always enough. The one rule for every title and name: validators.validate_plain_text
    accepts exactly what this leaves unchanged.
    """
    text = fragment or ""
    for _ in range(_MAX_LABEL_PASSES):
        settled = plain_text(text, whitespace)[:max_length]
        if settled == text:
            break
        text = settled
    return text
