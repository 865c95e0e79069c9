"""HTML from Word, WPS and web pages, and the equivalent forms of elements, in the body editor's terms.

sanitize.sanitize_html runs this before its allow-list, so the import, the API's ingest and the
admin hold every body to the same forms the editor writes (articles/editor.py), and an editor's
paste keeps what static/js/body-editor.js keeps in the browser:

- Word and WPS list items (``<p class=MsoListParagraph style="mso-list:l0 level1 lfo1">1.&nbsp;&nbsp;…``)
  become ``<ol>``/``<ul>`` items, nested by their level; the typed marker goes.
- Bold and italic written as styles (Google Docs' ``<span style="font-weight:700">``) become
  ``<strong>``/``<em>``; Google Docs' ``<b style="font-weight:normal">`` around a copy is not bold.
- ``<b>``, ``<i>``, ``<del>``, ``<strike>`` are the editor's ``<strong>``, ``<em>``, ``<s>``; a body's
  ``<h1>`` is an ``<h2>`` (the page's title is its only ``<h1>``); a table's ``<caption>`` becomes a
  paragraph before it and its ``<tfoot>`` a body.

Styles, classes, ``<o:p>`` and spans are left to the allow-list, which drops them.
"""

import re

from lxml import etree, html

# Only these make a fragment worth parsing here; the import's plain bodies skip the work.
_WORTH_PARSING = re.compile(
    r"<(?:b|i|del|strike|h1|caption|tfoot)\b|font-weight|font-style|mso-list|MsoList", re.IGNORECASE
)
# Word's "downlevel" conditionals: hidden blocks (VML shapes) go whole, revealed ones keep their content.
_HIDDEN_CONDITIONAL = re.compile(r"<!--\[if[^\]]*\]>.*?<!\[endif\]-->", re.DOTALL | re.IGNORECASE)
_REVEALED_CONDITIONAL = re.compile(r"<!\[(?:if[^\]]*|endif)\]>", re.IGNORECASE)

_RENAMED = {"b": "strong", "i": "em", "del": "s", "strike": "s", "h1": "h2", "tfoot": "tbody"}
# The elements editor_forms turns into the editor's own: rewritten, not left out.
REWRITTEN_ELEMENTS = frozenset({*_RENAMED, "caption"})
_MSO_LIST = re.compile(r"mso-list:\s*l\d+\s+level(\d+)", re.IGNORECASE)
_MSO_IGNORE = re.compile(r"mso-list:\s*ignore", re.IGNORECASE)
# A marker typed before an item's text: ordered ("1.", "a)", "iv.", "一、", "（1）") or a bullet
# (·, •, o, §, or a Symbol/Wingdings character in the private use area).
ORDERED_MARKER = re.compile(
    r"^\s*(?:\(?[0-9]{1,3}[.)、]?|[a-zA-Z][.)]|[ivxlcIVXLC]{1,6}[.)]|[一二三四五六七八九十]{1,3}[、.]"
    r"|（[0-9一二三四五六七八九十]{1,3}）)[\s\u00a0]+"
)
BULLET_MARKER = re.compile(r"^\s*[·•●○◦■□▪▫◆◇➢➤✓✔\-–—*§oØü\uf0a7\uf0b7\uf0d8\uf0fc][\s\u00a0]+")
_BOLD = re.compile(r"font-weight:\s*(?:bold|[6-9]00)\b", re.IGNORECASE)
_NOT_BOLD = re.compile(r"font-weight:\s*(?:normal|[1-5]00)\b", re.IGNORECASE)
_ITALIC = re.compile(r"font-style:\s*italic\b", re.IGNORECASE)


def editor_forms(fragment):
    """``fragment`` (an HTML string) with the rewrites above; unchanged when it has none of them."""
    if not _WORTH_PARSING.search(fragment):
        return fragment
    fragment = _REVEALED_CONDITIONAL.sub("", _HIDDEN_CONDITIONAL.sub("", fragment))
    root = html.fragment_fromstring(fragment, create_parent="div")
    _lists_from_paragraphs(root)
    _marks_from_styles(root)
    for element in list(root.iter(*_RENAMED)):
        element.tag = _RENAMED[element.tag]
    for mark in list(root.iter("strong", "em", "s")):
        if not mark.text_content().strip() and not any(inner.tag in ("br", "img") for inner in mark.iter()):
            mark.drop_tag()  # what Word's empty runs (<b><o:p></o:p></b>) leave
    for newline in list(root.iter("br")):
        if "Apple-interchange-newline" in newline.get("class", ""):
            newline.drop_tree()  # a browser's mark of where a copy ended
    for caption in list(root.iter("caption")):
        caption.tag = "p"
        table = caption.getparent()
        if table.tag == "table" and table.getparent() is not None:
            table.addprevious(caption)
    inner = (root.text or "") + "".join(etree.tostring(child, encoding="unicode", method="html") for child in root)
    return inner


def _list_level(paragraph):
    found = _MSO_LIST.search(paragraph.get("style", ""))
    if found:
        return int(found.group(1))
    return 1 if "msolistparagraph" in paragraph.get("class", "").lower() else 0


def _text_slots(element):
    """(element, "text" or "tail") of every piece of text inside ``element``, in reading order."""
    if element.tag is not etree.Comment:
        yield element, "text"
        for child in element:
            yield from _text_slots(child)
            yield child, "tail"


def _take_marker(paragraph):
    """The list marker typed at the start of ``paragraph``, removed from it."""
    for ignored in paragraph.iter():
        if ignored is not paragraph and isinstance(ignored.tag, str) and _MSO_IGNORE.search(ignored.get("style") or ""):
            marker = ignored.text_content()
            ignored.drop_tree()
            return marker
    found = ORDERED_MARKER.match(paragraph.text_content()) or BULLET_MARKER.match(paragraph.text_content())
    if not found:
        return ""
    left = len(found.group(0))
    for element, slot in _text_slots(paragraph):
        text = getattr(element, slot) or ""
        taken = min(left, len(text))
        setattr(element, slot, text[taken:])
        left -= taken
        if not left:
            break
    return found.group(0)


def _lists_from_paragraphs(root):
    stack = []  # the lists of the run being built, outermost first
    for paragraph in list(root.iter("p")):
        level = _list_level(paragraph)
        if not level:
            continue
        marker = re.sub(r"[\s\u00a0]+", "", _take_marker(paragraph))
        tag = "ol" if ORDERED_MARKER.match(marker + " ") else "ul"
        before = paragraph.getprevious()
        while before is not None and before.tag is etree.Comment:
            before = before.getprevious()
        if not stack or before is not stack[0] or (before.tail or "").strip():
            stack = []
        del stack[level:]
        while len(stack) < level:
            new_list = etree.Element(tag)
            if stack:
                holder = stack[-1][-1] if len(stack[-1]) else stack[-1]
                holder.append(new_list)
            else:
                paragraph.addprevious(new_list)
                new_list.tail = None
            stack.append(new_list)
        item = etree.SubElement(stack[-1], "li")
        text = etree.SubElement(item, "p")
        text.text = paragraph.text
        text.extend(paragraph)
        stack[0].tail = (stack[0].tail or "") + (paragraph.tail or "")
        paragraph.getparent().remove(paragraph)


def _marks_from_styles(root):
    for element in list(root.iter("b", "span")):
        style = element.get("style", "")
        if element.tag == "b":
            if _NOT_BOLD.search(style):
                element.drop_tag()
            continue
        inside = {ancestor.tag for ancestor in element.iterancestors()}
        marks = [
            tag
            for tag, rule, same in (("strong", _BOLD, {"b", "strong"}), ("em", _ITALIC, {"i", "em"}))
            if rule.search(style) and not inside & same
        ]
        if not marks:
            continue
        element.tag = marks[0]
        element.attrib.clear()
        if len(marks) == 2:
            inner = etree.Element("em")
            inner.text, element.text = element.text, None
            inner.extend(element)
            element.append(inner)
