"""The body editor of the article admin (django-prose-editor's configurable preset).

One rule with articles/sanitize.py: what the editor offers, the sanitizer keeps, and the reverse
(tests/test_editor.py::TestEditorAndSanitizer derives both lists from BODY_EDITOR_CONFIG). Its
labels are Chinese: the dialogs' through Django's JavaScript catalog (locale/zh_Hans/…/djangojs.po),
the menu's, which the package writes in English, through static/js/prose-editor-zh.js.
"""

import json

from django_prose_editor.config import allowlist_from_extensions
from django_prose_editor.widgets import AdminProseEditorWidget
from js_asset import Media

from .intake.reasons import html_left_out_wording
from .sanitize import html_a_reader_misses

# The heading levels the sanitizer keeps: a body's <h1> is its title's level (sanitize.py makes it <h2>).
HEADING_LEVELS = [2, 3, 4, 5, 6]

BODY_EDITOR_CONFIG = {
    "extensions": {
        "Bold": True,
        "Italic": True,
        "Strike": True,
        "Underline": True,
        "Subscript": True,
        "Superscript": True,
        "Code": True,
        "CodeBlock": True,
        "Heading": {"levels": HEADING_LEVELS},
        "BulletList": True,
        # List types ("a.", "iv.") are not kept by the sanitizer, so not offered.
        "OrderedList": {"enableListAttributes": False},
        "ListItem": True,
        "Blockquote": True,
        "HorizontalRule": True,
        "HardBreak": True,
        # Every link opens where it is: no "open in new window" (the sanitizer sets rel itself).
        "Link": {"enableTarget": False, "protocols": ["http", "https", "mailto"]},
        "Table": True,
        "TableRow": True,
        "TableHeader": True,
        "TableCell": True,
        "Figure": True,
        "Caption": True,
        "Image": True,
        "History": True,
        "HTML": True,
        "ChineseLabels": True,
        "OfficePaste": True,
    }
}


def editor_allowlist():
    """{"tags": {...}, "attributes": {tag: {...}}}: what the editor's toolbar can write."""
    return allowlist_from_extensions(BODY_EDITOR_CONFIG["extensions"])


class BodyEditorWidget(AdminProseEditorWidget):
    """The admin's body editor with BODY_EDITOR_CONFIG applied, and a menu arrow Debian's fonts can draw."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, config=BODY_EDITOR_CONFIG, preset="configurable", **kwargs)

    @property
    def media(self):
        return super().media + Media(css={"all": ["css/prose-editor.css"]})

    def get_context(self, name, value, attrs):
        # The HTML source dialog names what the schema dropped as the server's warning does.
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-html-left-out"] = json.dumps(
            html_a_reader_misses() | html_left_out_wording(), ensure_ascii=False, separators=(",", ":")
        )
        return context
