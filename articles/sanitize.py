"""The one HTML allow-list, used by the import, the API's ingest and the admin when an editor saves.

Imported HTML comes from a scraper and is untrusted: only the tags and attributes below survive,
links may only be http(s)/mailto, and nothing that executes (scripts, event handlers, styles,
iframes, forms, SVG/MathML) is kept.
"""

import functools
import html
import re
from collections import Counter
from typing import NamedTuple

import nh3
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from lxml import etree

from finews import imports

from .pasted import REWRITTEN_ELEMENTS, editor_forms

# bs4 imports soupsieve, for CSS selectors, which finews never uses (its tests do): compiling its
# regular expressions at import was a twentieth of the CPU of an import from cron. It imports
# charset_normalizer too, to guess the encoding of bytes: finews hands it text. Every process
# imports bs4 here first (models → validators → sanitize).
imports.defer("soupsieve")
imports.defer("charset_normalizer")
from bs4 import BeautifulSoup  # noqa: E402

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

# Kept on every allowed element: a language and a tooltip (ammonia's default, stated).
GENERIC_ATTRIBUTES = {"lang", "title"}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

_body_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes={**ALLOWED_ATTRIBUTES, "*": GENERIC_ATTRIBUTES},
    url_schemes=ALLOWED_URL_SCHEMES,
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
    set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"}},
)
_text_cleaner = nh3.Cleaner(tags=set(), attributes={}, strip_comments=True)

# C0 controls but tab and newlines, DEL, C1 controls, lone surrogates and the two non-characters
# XML forbids: never part of an article, and one in a feed makes the whole feed unreadable.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# Invisible format characters (Unicode 14 category Cf, as Python 3.11 has it): bidirectional
# embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069), the marks U+200E, U+200F and
# U+061C, zero-width space and non-joiner, word joiner, soft hyphen, BOM, interlinear annotation,
# and the invisible "tag" letters that can carry hidden text. In a title or name one reverses or
# hides what follows it (a title holding U+202E turned the site name after it in <title> and the
# feeds around). Not listed: U+200D, the zero-width joiner, kept between two symbols, where it
# joins an emoji sequence (a family of three) and shows nothing of its own; alone it goes too.
FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b\u200c\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
    "|\u200d(?![\u2190-\u2bff\U0001f000-\U0001faff])|(?<![\u2190-\u2bff\ufe0f\U0001f000-\U0001faff])\u200d"
)

# The element names of HTML (WHATWG's list, the obsolete ones East Money's pages still use, and
# SVG and MathML roots). Anything else that looks like a tag in a body is text: a Reuters code
# (<AAPL.O>, <0700.HK>), an index (<DXY>) or a "<" in running prose (A股<B股), which an HTML parser
# would otherwise take as an unknown element and the allow-list drop with its name.
HTML_ELEMENTS = frozenset({
    "a", "abbr", "acronym", "address", "area", "article", "aside", "audio", "b", "base", "basefont", "bdi",
    "bdo", "bgsound", "big", "blink", "blockquote", "body", "br", "button", "canvas", "caption", "center",
    "cite", "code", "col", "colgroup", "data", "datalist", "dd", "del", "details", "dfn", "dialog", "dir",
    "div", "dl", "dt", "em", "embed", "fieldset", "figcaption", "figure", "font", "footer", "form", "frame",
    "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "iframe",
    "image", "img", "input", "ins", "isindex", "kbd", "keygen", "label", "legend", "li", "link", "listing",
    "main", "map", "mark", "marquee", "math", "menu", "menuitem", "meta", "meter", "multicol", "nav",
    "nextid", "nobr", "noembed", "noframes", "noscript", "object", "ol", "optgroup", "option", "output",
    "p", "param", "picture", "plaintext", "pre", "progress", "q", "rb", "rp", "rt", "rtc", "ruby", "s",
    "samp", "script", "search", "section", "select", "slot", "small", "source", "spacer", "span", "strike",
    "strong", "style", "sub", "summary", "sup", "svg", "table", "tbody", "td", "template", "textarea",
    "tfoot", "th", "thead", "time", "title", "tr", "track", "tt", "u", "ul", "var", "video", "wbr", "xmp"
})  # fmt: skip
# What an HTML tokenizer reads as a start or end tag: "<", an optional "/", a letter, then the
# name up to whitespace, "/" or ">".
_TAG_START = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
# Office's namespaced elements in pasted HTML (<o:p>, <st1:chsdate>, <w:sdt>): markup, dropped by
# the allow-list as before. "<http://…>" is no such name: text.
_NAMESPACED_ELEMENT = re.compile(r"[A-Za-z][A-Za-z0-9]*:[A-Za-z][A-Za-z0-9-]*")

# Real bodies nest a few elements deep. The allow-list's cost grows with the square of the depth
# (100,000 nested <div>s: half a minute), so sanitize_html refuses deeper bodies before it runs.
MAX_HTML_DEPTH = 100

# What the allow-list leaves out that a reader of the original misses (html_left_out) is every
# element it takes out but these: elements whose text it keeps in place and which only grouped or
# styled that text (the site styles text its own way), and the parser's own containers. <colgroup>
# and <col> hold no text, only a table's column widths: the body editor writes them in every table.
_STYLING_ELEMENTS = frozenset({
    "abbr", "acronym", "address", "article", "aside", "basefont", "bdi", "big", "body", "center", "cite",
    "col", "colgroup", "data", "dfn", "div", "font", "footer", "head", "header", "hgroup", "html", "ins",
    "kbd", "label", "main", "mark", "multicol", "nav", "nobr", "samp", "search", "section", "small",
    "spacer", "span", "time", "tt", "var", "wbr",
})  # fmt: skip
# The elements the allow-list takes out with all they hold (nh3's clean_content_tags and templates).
_LEFT_OUT_WHOLE = frozenset({"script", "style", "template"})
# Of the attributes the allow-list takes out, those that act or that a reader reads: event handlers
# (on…, below), a tooltip (title, kept on the elements it keeps), a list's numbering. The others
# (class, id, style, data-…, align, target…) styled or marked the element for the old site's CSS
# and scripts.
_READ_ATTRIBUTES = {"*": {"title"}, "ol": {"type", "reversed"}, "li": {"value"}}
# The allow-list's rule for an address (href, src), alone: ammonia keeps one that its URL parser
# (the url crate, after the WHATWG URL standard) reads with a scheme of ALLOWED_URL_SCHEMES, or
# cannot read for want of a base (a relative address); it drops, saying nothing, one of another
# scheme and one it cannot read at all (a host with a space, "https://[bad", "http://256.1.1.1/").
# Asked rather than imitated: no regular expression agrees with a URL parser.
_address_cleaner = nh3.Cleaner(tags={"a"}, attributes={"a": {"href"}}, url_schemes=ALLOWED_URL_SCHEMES, link_rel=None)

_EMPTY_PARAGRAPH = re.compile(r"<p>(?:\s|&nbsp;|\u3000|<br>)*</p>")
# A link whose address the allow-list dropped (javascript:, tel:, one no URL parser reads) would stay
# an <a> with no href, which links nowhere: its text is kept without it. Read on nh3's own output,
# where every attribute value is quoted with "<" and ">" escaped and every <a> is closed in order;
# an <a> may hold another (HTML5 lets a link hold a table, whose cell holds a link).
_ANCHOR_TAG = re.compile(r"<a(?:\s[^>]*)?>|</a>")
# nh3 adds an image's loading and decoding in the order of a Rust HashMap, which each process
# draws anew: written in one order, a body cleaned again in another process (an editor's save
# of an unchanged article) would differ from the stored one and be saved as a change.
_IMAGE_HINTS_REVERSED = re.compile(r'(<img\b[^>]*?) decoding="async" loading="lazy"(?=>)')
_WHITESPACE = re.compile(r"\s+")


class Sanitized(str):
    """HTML as sanitize_html returned it, which it returns as it is: the allow-list leaves its own
    output unchanged (tests/test_fuzz.py), and the import's writer need not clean again what its
    parsing cleaned. As with Django's SafeString, what is made of one (a slice, a concatenation)
    is a plain str again, and cleaned again."""

    __slots__ = ()


def sanitize_html(fragment):
    """Return ``fragment`` reduced to the allow-list, with empty paragraphs removed, as Sanitized;
    ValidationError for a fragment nested deeper than MAX_HTML_DEPTH, which is refused rather
    than cleaned.

    Only the names of HTML elements are markup: ``<DXY>`` stays text (``escape_unknown_tags``)."""
    if type(fragment) is Sanitized:
        return fragment
    fragment = escape_unknown_tags(without_control_characters(fragment or ""))
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
    cleaned = _IMAGE_HINTS_REVERSED.sub(r'\1 loading="lazy" decoding="async"', cleaned)
    cleaned = _without_unlinked_anchors(cleaned)
    return Sanitized(_EMPTY_PARAGRAPH.sub("", without_control_characters(cleaned)).strip())


def body_as_shown(body):
    """An article's stored ``body`` as pages and the API give it: cleaned by the allow-list again,
    as a SafeString (a body too deep to clean, as its text in one paragraph).

    Every write stores a body cleaned, but a row written around them (SQL, an old version of the
    site) may hold anything: a <meta http-equiv="refresh"> sends readers to another site (no CSP
    rule covers it), an unclosed <textarea> or comment swallows the rest of the page. Cleaning a
    clean body gives it back unchanged (tests/test_fuzz.py) at about 0.1 ms (0.6 ms for the
    largest of the sample posts), on pages kept per content version.
    """
    try:
        return mark_safe(sanitize_html(body))
    except ValidationError:
        return format_html("<p>{}</p>", plain_text(body))


def _without_unlinked_anchors(cleaned):
    """``cleaned`` (nh3's output) without the tags of each <a> that has no href, its content kept."""
    pieces, linked, end = [], [], 0
    for tag in _ANCHOR_TAG.finditer(cleaned):
        pieces.append(cleaned[end : tag.start()])
        end = tag.end()
        if tag[0] == "</a>":
            keep = linked.pop() if linked else True
        else:
            keep = ' href="' in tag[0]
            linked.append(keep)
        if keep:
            pieces.append(tag[0])
    pieces.append(cleaned[end:])
    return "".join(pieces)


class LeftOut(NamedTuple):
    """What html_left_out found: ``elements`` and ``attributes``, Counters of names in the order they
    first appear, and ``addresses``, the href and src values the allow-list drops, by attribute
    name, each once, in order (``{"href": ["tel:95588"]}``)."""

    elements: Counter
    attributes: Counter
    addresses: dict


def html_left_out(tree):
    """What sanitize_html leaves out of the HTML ``tree`` that a reader of the original would miss,
    a LeftOut whose Counters are both empty when the allow-list only takes out styling.

    ``tree`` is a BeautifulSoup tag of the fragment as sanitize_html will read it (unknown tags
    already escaped: escape_unknown_tags); its descendants are counted, not itself. Counted: every
    element the allow-list takes out but those editor_forms rewrites into the editor's forms, the
    _STYLING_ELEMENTS and Office's namespaced ones (``<o:p>``), and nothing inside one of
    _LEFT_OUT_WHOLE; of the attributes of the other elements, those the allow-list takes out that
    are in _READ_ATTRIBUTES or name an event handler (on…), and an href or src the allow-list takes
    out (address_is_kept: a scheme not in ALLOWED_URL_SCHEMES, or an address no URL parser reads).
    Reads the tree, never parses it again.
    """
    elements, attributes, addresses = Counter(), Counter(), {}
    pending = [child for child in reversed(tree.contents) if child.name]
    while pending:
        element = pending.pop()
        name = element.name
        if name in ALLOWED_TAGS or name in REWRITTEN_ELEMENTS:
            dropped = list(_attributes_left_out(element, kept=True))
        elif name in _STYLING_ELEMENTS or ":" in name:
            dropped = list(_attributes_left_out(element, kept=False))
        else:
            elements[name] += 1
            if name in _LEFT_OUT_WHOLE:
                continue
            dropped = []
        for attribute, address in dropped:
            attributes[attribute] += 1
            if address is not None and address not in addresses.setdefault(attribute, []):
                addresses[attribute].append(address)
        pending.extend(child for child in reversed(element.contents) if child.name)
    return LeftOut(elements, attributes, addresses)


def html_left_out_of(fragment):
    """html_left_out of the HTML string ``fragment`` (a body as an editor or a client sends it),
    parsed as the import parses a body and read as sanitize_html reads it (control characters
    dropped, unknown tags escaped): a LeftOut, its Counters both empty when nothing a reader
    would miss is left out. For a fragment sanitize_html accepts (no deeper than MAX_HTML_DEPTH)."""
    fragment = escape_unknown_tags(without_control_characters(fragment or ""))
    body = BeautifulSoup(f"<body>{fragment}</body>", "lxml").body
    return html_left_out(body) if body is not None else LeftOut(Counter(), Counter(), {})


def _attributes_left_out(element, kept):
    """``(name, address)`` of each of ``element``'s attributes that html_left_out counts, ``address``
    the value of an href or src it drops, else None; ``kept``: whether the allow-list keeps the
    element itself (its allowed attributes with it) or only its text."""
    allowed = ALLOWED_ATTRIBUTES.get(element.name, set()) | GENERIC_ATTRIBUTES if kept else set()
    read = _READ_ATTRIBUTES["*"] | _READ_ATTRIBUTES.get(element.name, set())
    for attribute, value in element.attrs.items():
        if attribute in allowed:
            if attribute in ("href", "src") and not address_is_kept(value):
                yield attribute, value
        elif attribute in read or attribute.startswith("on"):
            yield attribute, None


@functools.lru_cache(maxsize=4096)  # East Money's bodies repeat the same quote links article after article
def address_is_kept(address):
    """Whether the allow-list keeps the link or image address ``address`` (an attribute's value,
    entities decoded): it drops one of a scheme not in ALLOWED_URL_SCHEMES and one no URL parser
    can read (``http://exa mple.com``), keeping the link's text either way."""
    return "href=" in _address_cleaner.clean(f'<a href="{html.escape(address)}"></a>')


def linkable(address):
    """``address`` (a stored link, as an article's source_url) when the allow-list keeps it
    (address_is_kept), else "": the model's URLField refuses a javascript: or data: address, a row
    written by SQL may hold one, and pages and the API link to it."""
    return address if address and address_is_kept(address) else ""


def html_a_reader_misses():
    """html_left_out's rule as names, for a client that finds what it left out by itself (the body
    editor's HTML source dialog, static/js/body-editor.js): ``{"unmissed_elements": [...],
    "read_attributes": [...]}``, the elements whose loss a reader does not miss (styling, and those
    editor_forms rewrites), and the attributes, besides event handlers (on…), whose loss a reader
    does (a link's or an image's address among them: the editor drops one whose scheme it refuses),
    and ``"url_schemes"``, ALLOWED_URL_SCHEMES: the editor keeps some addresses the allow-list drops
    (``ftp:``, ``tel:``, ``http://exa mple.com``), which the client names by address_is_kept's rule."""
    read = {"href", "src"}.union(*_READ_ATTRIBUTES.values())
    return {
        "unmissed_elements": sorted(_STYLING_ELEMENTS | REWRITTEN_ELEMENTS),
        "read_attributes": sorted(read),
        "url_schemes": sorted(ALLOWED_URL_SCHEMES),
    }


def without_control_characters(text):
    return CONTROL_CHARACTERS.sub("", text)


def escape_unknown_tags(fragment):
    """``fragment`` (HTML) with every ``<`` that starts a tag of no HTML element (HTML_ELEMENTS)
    written as ``&lt;``, so that a parser reads it as the text it is: ``美元指数<DXY>回落`` keeps
    ``<DXY>``. Comments, doctypes and real elements are left as they are."""

    def as_text_unless_element(match):
        name = match[2]
        if name.lower() in HTML_ELEMENTS or _NAMESPACED_ELEMENT.fullmatch(name):
            return match[0]
        return "&lt;" + match[0][1:]

    return _TAG_START.sub(as_text_unless_element, fragment)


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
    """Return the text of the HTML ``fragment`` (a body, a rendered digest): tags and the content
    of scripts/styles dropped, entities decoded, what is no element kept (``escape_unknown_tags``).

    ``whitespace`` is "collapse" (one line), "lines" (keep line breaks) or "keep" (only trim:
    the old site's category names carry meaningful double spaces).
    """
    fragment = escape_unknown_tags(without_control_characters(fragment or ""))
    # Also after unescaping: an entity (&#11;) may stand for a control character.
    text = without_control_characters(html.unescape(_text_cleaner.clean(fragment)))
    return _spaced(text.strip(), whitespace)


def text_excerpt(fragment, length=150):
    """The beginning of the text of the HTML ``fragment`` (a body), cut to ``length`` characters as
    truncatechars cuts (ending with the active language's ellipsis: "..." in Chinese): what
    describes an article without a summary, on its page (description, og:description) and in the
    feeds."""
    return Truncator(plain_text(fragment)).chars(length)


def plain_label(text, whitespace="collapse", max_length=None):
    """The text of a title, summary or name (category, tag, stock) as it is to be stored, cut to
    ``max_length``: control characters and invisible format characters dropped (FORMAT_CHARACTERS),
    whitespace collapsed to single spaces (``whitespace`` as in ``plain_text``).

    Nothing in a title or name is markup: ``苹果<AAPL.O>``, ``A股<B股`` and ``<b>`` are kept as
    written (and escaped wherever they are shown), never stripped or decoded. The one rule for
    every title and name: validators.validate_plain_text accepts exactly what this leaves unchanged.
    """
    text = _spaced(FORMAT_CHARACTERS.sub("", without_control_characters(text or "")).strip(), whitespace)
    return text[:max_length].strip()


def _spaced(text, whitespace):
    if whitespace == "keep":
        return text
    if whitespace == "lines":
        lines = (_WHITESPACE.sub(" ", line).strip() for line in text.splitlines())
        return "\n".join(line for line in lines if line)
    return _WHITESPACE.sub(" ", text)
