"""Turning a post body (East Money HTML and/or Markdown) into an article body.

What belonged to the old Jekyll site rather than to the article is taken out: the trailer
lines (East Money news link, share link, an empty ``<>``, the ``返回…`` navigation), the
K-line chart blocks (hot-linked images whose tokens expire) and hidden placeholders.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from markdown_it.token import Token

from articles.sanitize import (
    HTML_ELEMENTS,
    MAX_HTML_DEPTH,
    escape_unknown_tags,
    html_depth,
    html_left_out,
    plain_text,
    sanitize_html,
)

from .emphasis import cjk_friendly_emphasis
from .frontmatter import PostError
from .labels import label_with_warnings
from .stocks import StockMention, extract_stocks
from .trees import attribute_matches, comments, elements, has_class, is_comment

_TAG_NAME = re.compile(r"</?([A-Za-z][^\s/>]*)")


def _text_blocks_are_paragraphs(md):
    """markdown-it-py plugin: a "HTML block" that opens with a tag of no HTML element (a line
    ``<DXY>``, which CommonMark takes as one) is a paragraph of text, as escape_unknown_tags reads it."""

    def as_paragraphs(state):
        for index, token in enumerate(state.tokens):
            name = _TAG_NAME.match(token.content) if token.type == "html_block" else None
            if name and name[1].lower() not in HTML_ELEMENTS:
                text = Token("inline", "", 0, content=token.content.strip(), map=token.map, children=[])
                state.tokens[index : index + 1] = [
                    Token("paragraph_open", "p", 1),
                    text,
                    Token("paragraph_close", "p", -1),
                ]

    md.core.ruler.after("block", "text_blocks_are_paragraphs", as_paragraphs)


_markdown = (
    MarkdownIt("commonmark", {"html": True})
    .enable("table")
    .enable("strikethrough")
    .use(cjk_friendly_emphasis)
    .use(_text_blocks_are_paragraphs)
)

SOURCE_LINK_LINE = re.compile(r"^<(https?://[a-z0-9.-]*eastmoney\.com/news/[^>\s]+)>$", re.IGNORECASE)
_SHARE_LINK_LINE = re.compile(r"^<[^>\s]*NewsShare\.html[^>\s]*>$", re.IGNORECASE)
_NAVIGATION_LINE = re.compile(r"^(?:\[返回[^\]]*\]\([^)]*\)[\s｜|]*)+$")
_STOCK_CHART_HOST = re.compile(r"^(?:https?:)?//webquoteklinepic\.eastmoney\.com/", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_SOURCE_CREDIT = re.compile(r"文章来源\s*[:：]\s*([^）)]{1,40})")
_TRAILING_CREDIT = re.compile(r"[（(]([^（）()]{2,12})[）)]\s*$")
MAX_SUMMARY_CHARS = 2000
# How many kinds of element and attribute a warning names before it only counts the rest.
MAX_NAMED_LEFT_OUT = 12
# What a rendered digest is made of whatever it says (the quote, its paragraphs, its line breaks):
# the summary keeps their text as lines. Any other element is markup a text summary flattens.
_DIGEST_STRUCTURE = frozenset({"blockquote", "p", "br"})


@dataclass
class CleanBody:
    html: str
    summary: str = ""
    source_url: str = ""
    source_name: str = ""
    stocks: list[StockMention] = field(default_factory=list)


def clean_body(text, warnings):
    """Return the ``CleanBody`` of a post's body text (front matter already removed), appending
    to the list ``warnings`` what of it the article does not have as written: the end of a summary
    longer than MAX_SUMMARY_CHARS, a stock name's (extract_stocks), and the HTML the allow-list
    leaves out (sanitize.html_left_out). What belonged to the old site goes without a warning."""
    lines, source_url = _without_trailer(text.split("\n"))
    digest, lines = _leading_digest(lines)
    # Before any HTML parser reads it: "<DXY>" in the text is text, not an unknown element.
    rendered_digest = escape_unknown_tags(_markdown.render(digest)) if digest else ""
    rendered = escape_unknown_tags(_markdown.render("\n".join(lines)))
    if max(html_depth(rendered_digest), html_depth(rendered)) > MAX_HTML_DEPTH:
        # Refused before any of the work below, which such nesting would make take minutes.
        raise PostError(f"body: its HTML nests more than {MAX_HTML_DEPTH} elements deep")
    _note_flattened_digest(rendered_digest, warnings)
    summary = label_with_warnings(
        plain_text(rendered_digest, whitespace="lines"), "summary", MAX_SUMMARY_CHARS, warnings, whitespace="lines"
    )

    # The explicit <body> keeps a leading comment (a chart block's start marker) inside the body.
    soup = BeautifulSoup(f"<body>{rendered}</body>", "lxml")
    stocks = extract_stocks(soup, warnings)
    source_name = _source_name(soup, summary)
    _remove_old_site_parts(soup)
    if soup.body is None:
        body_html = ""
    else:
        body_html = "".join(str(child) for child in soup.body.children)
        _note_left_out(*html_left_out(soup.body)[:2], warnings)
    return CleanBody(
        html=sanitize_html(body_html),
        summary=summary,
        source_url=source_url,
        source_name=source_name,
        stocks=stocks,
    )


def _note_left_out(elements, attributes, warnings):
    """A warning naming, with their counts, the elements and attributes html_left_out found."""
    if elements or attributes:
        warnings.append(f"body: HTML the site does not show was left out: {_named(elements, attributes)}")


def _note_flattened_digest(rendered_digest, warnings):
    """A warning naming, with their counts, the elements of the digest's markup (emphasis, a link
    and its address, code, a list…: ``rendered_digest`` is its HTML) of which the summary, a text,
    keeps only the text."""
    if not rendered_digest:
        return
    digest = BeautifulSoup(f"<body>{rendered_digest}</body>", "lxml").body
    names = (element.name for element in (elements(digest) if digest else ()))
    flattened = Counter(name for name in names if name not in _DIGEST_STRUCTURE)
    if flattened:
        warnings.append(f"summary: its markup was flattened to text: {_named(flattened, {})}")


def _named(elements, attributes):
    """``"2 <script>, 1 onclick attribute"``: the first MAX_NAMED_LEFT_OUT kinds of ``elements``
    and ``attributes`` (names to counts) with their counts, then how many more kinds there are."""
    named = [f"{count} <{name}>" for name, count in elements.items()]
    named += [f"{count} {name} attribute{'s' if count > 1 else ''}" for name, count in attributes.items()]
    more = f", and {len(named) - MAX_NAMED_LEFT_OUT} more" if len(named) > MAX_NAMED_LEFT_OUT else ""
    return f"{', '.join(named[:MAX_NAMED_LEFT_OUT])}{more}"


def _without_trailer(lines):
    kept, source_url = [], ""
    for line in lines:
        stripped = line.strip()
        source_match = SOURCE_LINK_LINE.match(stripped)
        if source_match:
            source_url = source_url or source_match[1]
            continue
        if stripped == "<>" or _SHARE_LINK_LINE.match(stripped) or _NAVIGATION_LINE.match(stripped):
            continue
        kept.append(line)
    return kept, source_url


def _leading_digest(lines):
    """Split off the ``> digest`` blockquote that opens the body, if there is one."""
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = start
    while end < len(lines) and lines[end].lstrip().startswith(">"):
        end += 1
    if end == start:
        return "", lines
    digest = "\n".join(lines[start:end])
    return digest, lines[end:]


def _source_name(soup, summary):
    for credit in elements(soup, lambda element: has_class(element, "em_media")):
        match = _SOURCE_CREDIT.search(credit.get_text())
        if match:
            return match[1].strip()
    match = _SOURCE_CREDIT.search(soup.get_text()) or _TRAILING_CREDIT.search(summary)
    return match[1].strip() if match else ""


def _remove_old_site_parts(soup):
    _remove_stock_charts(soup)
    for image in elements(soup, _is_stock_chart):
        (image.find_parent("a") or image).decompose()
    for hidden in elements(soup, lambda element: attribute_matches(element, "style", _HIDDEN_STYLE)):
        hidden.decompose()
    # East Money's automatic glossary links (class "infokey") point at its data pages, not the story.
    for glossary_link in elements(soup, lambda element: element.name == "a" and has_class(element, "infokey")):
        glossary_link.unwrap()
    for credit in elements(soup, lambda element: has_class(element, "em_media")):
        for link in elements(credit, lambda element: element.name == "a"):
            link.unwrap()


def _is_stock_chart(element):
    return element.name == "img" and attribute_matches(element, "src", _STOCK_CHART_HOST)


def _remove_stock_charts(soup):
    """Remove what stands between ``<!-- EM_StockImg_Start -->`` and its ``End`` marker."""
    for start in comments(soup, "EM_StockImg_Start"):
        block = []
        for sibling in start.next_siblings:
            if is_comment(sibling, "EM_StockImg_End"):
                for node in [start, *block, sibling]:
                    node.extract()
                break
            block.append(sibling)
