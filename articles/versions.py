"""Two stored versions of an article, side by side (issue 25): what the desk's 历史 compares
before a restore. django-reversion-compare gives the history's choice of two versions and the
compare page (desk_admin.CompareAdminMixin); this module gives what it shows of an article.

``side_by_side(older, newer)`` reads the versions as reversion stored them (field_dict, and the
revision's TaggedArticle rows for tags), never the live article. ``unreadable(version_ids)`` says why
a stored version cannot be read at all, before any page tries to.
"""

import difflib
import re
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from reversion.errors import RevertError
from reversion.models import Version

from .models import Article, Category, RetiredTag, StockReference, Tag, TaggedArticle
from .sanitize import body_as_shown, plain_text
from .tagging import format_tag
from .validators import is_publication_time

TEXT_FIELDS = [("title", "标题"), ("summary", "摘要"), ("body", "正文")]
# What else a restore brings back (publishing.restore_version), by the form's labels: shown before
# the restore as well as the text (the category, or the address, a restore would move).
VALUE_FIELDS = [
    ("authors", "作者"), ("source_name", "来源"), ("source_url", "原文链接"), ("slug", "网址别名"), ("cover_image", "封面图"),
]  # fmt: skip
# Where a body's line ends as a reader sees it: the editor writes no line breaks between blocks,
# and their text ran on as one line (a heading into its paragraph, a table's cells into one word:
# the editor's cells hold a <p> each, imported ones bare text).
_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|blockquote|pre|figcaption|tr|td|th)>|<br\s*/?>|<hr\s*/?>", re.IGNORECASE)
MARKUP_ONLY = "文字没有改动，格式有改动（如标题、加粗、列表、链接地址、表格、图片）。"


@dataclass(frozen=True)
class Row:
    """One field of two versions: ``before`` and ``after`` are HTML, the difference marked with
    <del> (only in the older) and <ins> (only in the newer)."""

    label: str
    before: str
    after: str
    changed: bool
    note: str = ""


def side_by_side(older, newer):
    """Rows for title, summary, body (as text), tags, stocks, category, the VALUE_FIELDS, status
    and time of two Versions of one Article, in that order; unchanged fields are rows too
    (``changed`` False)."""
    rows = []
    for name, label in TEXT_FIELDS:
        values = [version.field_dict.get(name) or "" for version in (older, newer)]
        before, after = (_text(value, name) for value in values)
        # The body is compared by its text; a change of its markup alone is a change all the same.
        markup_only = name == "body" and before == after and body_as_shown(values[0]) != body_as_shown(values[1])
        note = MARKUP_ONLY if markup_only else ""
        rows.append(Row(label, *_marked(before, after), changed=before != after or markup_only, note=note))
    tags = _tag_names([older, newer])
    stocks = _stock_names([older, newer])
    # Each tag as the tag field writes it: "宏观，A股" unquoted read as two tags.
    rows.append(_list_row("标签", *([format_tag(name) for name in tags[version.pk]] for version in (older, newer))))
    rows.append(_list_row("相关股票", stocks[older.pk], stocks[newer.pk]))
    categories = Category.objects.in_bulk({version.field_dict.get("category_id") for version in (older, newer)})
    rows.append(_value_row("分类", *(_category(version, categories) for version in (older, newer))))
    for name, label in VALUE_FIELDS:
        rows.append(_value_row(label, *(str(version.field_dict.get(name) or "") for version in (older, newer))))
    rows.append(_value_row("状态", *(_status(version) for version in (older, newer))))
    rows.append(_value_row("发布时间", *(_time(version) for version in (older, newer))))
    return rows


def unreadable(version_ids):
    """Why a version of ``version_ids`` (reversion Versions of Articles), or another version of
    its revision (its tags), cannot be read as stored: a sentence in Chinese for the editor; None
    when every one can. One query.

    Versions are rows anyone may have written: by a version of the site whose fields differ, or by
    SQL. Reversion reads them for the version's page (reverting the whole revision), for a restore
    and for the compare page, and raises RevertError, IndexError or AttributeError on data it
    cannot read; checked here first, each page says so instead of failing. An id no version can
    have (a URL's: ²; beyond the column's integers, which SQLite's driver cannot even send) names
    none here: the library's own page answers for it (a 404, its form's error).
    """
    _, highest = connection.ops.integer_field_range(Version._meta.pk.get_internal_type())
    ids = [
        int(pk)
        for pk in map(str, version_ids)
        if pk.isdecimal() and len(pk) <= len(str(highest)) and int(pk) <= highest
    ]
    for item in Version.objects.filter(revision__version__pk__in=ids):
        if item._model is None:
            return "它保存的一部分数据属于本站已不再使用的一类记录。"
        try:
            item.field_dict  # noqa: B018 (read for what reading it raises)
        except RevertError:
            return "它保存的数据不是本站能读懂的格式（可能来自旧版本的程序，或被直接改过数据库）。"
        except IndexError:  # reversion takes the first object of the data: there was none of its kind
            return "它保存的数据里没有这篇文章。"
    return None


def _text(value, name):
    # The body is compared as readers read it, a line a block; its markup would bury a changed word in tags.
    if name != "body":
        return value
    return plain_text(_BLOCK_END.sub(lambda end: f"{end[0]}\n", value), whitespace="lines")


def _marked(before, after):
    """(before, after) as HTML with what differs between them marked, character by character:
    Chinese has no spaces to split words at."""
    old, new = [], []
    for operation, a1, a2, b1, b2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if operation == "equal":
            old.append(escape(before[a1:a2]))
            new.append(escape(after[b1:b2]))
            continue
        if a2 > a1:
            old.append(f"<del>{escape(before[a1:a2])}</del>")
        if b2 > b1:
            new.append(f"<ins>{escape(after[b1:b2])}</ins>")
    return _escaped("".join(old).replace("\n", "<br>")), _escaped("".join(new).replace("\n", "<br>"))


def _escaped(html):
    """``html`` built here from escaped text and our own <del>, <ins> and <br> only."""
    return mark_safe(html)


def _list_row(label, before, after):
    old = [escape(name) if name in after else f"<del>{escape(name)}</del>" for name in before]
    new = [escape(name) if name in before else f"<ins>{escape(name)}</ins>" for name in after]
    return Row(label, _escaped("、".join(old)), _escaped("、".join(new)), changed=before != after)


def _value_row(label, before, after):
    if before == after:
        return Row(label, escape(before), escape(after), changed=False)
    return Row(label, _escaped(f"<del>{escape(before)}</del>"), _escaped(f"<ins>{escape(after)}</ins>"), changed=True)


def _category(version, categories):
    category_id = version.field_dict.get("category_id")
    return categories[category_id].display_name if category_id in categories else f"编号 {category_id}（已删除）"


def _status(version):
    status = version.field_dict.get("status")
    return str(Article.Status(status).label) if status in Article.Status.values else str(status)


def _time(version):
    published_at = version.field_dict.get("published_at")
    if not published_at:
        return ""
    if timezone.is_naive(published_at):
        # Stored without a zone (an old version, SQL): Django's reading of one, the site's time.
        published_at = timezone.make_aware(published_at)
    if not is_publication_time(published_at):
        # Perhaps beyond what local time can show (year 9999 + 8 h): as stored, as the change form does.
        return f"{published_at.isoformat()}（UTC，超出范围）"
    return f"{timezone.localtime(published_at):%Y-%m-%d %H:%M}"


def _tag_names(versions):
    """{version pk: its tags' names, sorted}: a tag deleted or merged since by the name it had."""
    tagged = ContentType.objects.get_for_model(TaggedArticle)
    links = Version.objects.filter(revision_id__in=[version.revision_id for version in versions], content_type=tagged)
    ids = {version.pk: [] for version in versions}
    for link in links:
        for version in versions:
            if link.revision_id == version.revision_id and link.field_dict["content_object_id"] == int(
                version.object_id
            ):
                ids[version.pk].append(link.field_dict["tag_id"])
    wanted = {tag_id for tag_ids in ids.values() for tag_id in tag_ids}
    names = {pk: tag.name for pk, tag in Tag.objects.in_bulk(wanted).items()}
    if len(names) < len(wanted):
        names |= dict(RetiredTag.objects.filter(tag_id__in=wanted - set(names)).values_list("tag_id", "name"))
    return {pk: sorted(names.get(tag_id, f"编号 {tag_id}") for tag_id in tag_ids) for pk, tag_ids in ids.items()}


def _stock_names(versions):
    ids = {version.pk: version.field_dict.get("stocks") or [] for version in versions}
    stocks = StockReference.objects.in_bulk({stock_id for stock_ids in ids.values() for stock_id in stock_ids})
    return {
        pk: sorted(str(stocks[stock_id]) if stock_id in stocks else f"编号 {stock_id}" for stock_id in stock_ids)
        for pk, stock_ids in ids.items()
    }
