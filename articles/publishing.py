"""Every write of what readers see goes through here: the import, the admin, its actions, restores.

Each function validates (the model's rules), checks the user's permissions (``user=None`` is the
system itself: the import and management commands), writes inside one transaction and, for
articles, one revision that holds the article with its tags and stocks, and the search index's
rows in that same transaction (what is committed is searchable). It names the surrogate keys the
change affects (caching.content_changed), flushed once per transaction after it commits. Callers
stay thin: a ModelAdmin or a command only gathers its input. tests/test_publishing.py proves by
``git grep`` that no other module writes a content model.

Functions: save_article, set_status, submit_for_review, return_for_revision, pin_article,
unpin_article, join_story, split_stories, delete_articles, restore_version, merge_tags,
save_topic, delete_topics, stock_references, store_cover, remake_list_cover; check_unchanged_since,
check_pin, validate_tag_names and may_publish for the admin's forms; list_covers_to_remake, stock_listings_out_of_step
and relist_under_stocks for check_content.
"""

import contextlib
import dataclasses
import errno
import functools
import json
import logging
import operator

import reversion
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.json import Serializer as JSONSerializer
from django.db import connections, models, router, transaction
from django.db.models import signals
from django.utils import timezone
from django.utils.encoding import is_protected_type
from reversion.models import Revision, Version

from finews import imports

from . import search
from .caching import content_changed, keys
from .images import make_list_cover, make_thumbnail, reencode_cover
from .models import Article, Category, RetiredTag, StockListing, StockReference, Tag, TaggedArticle
from .roles import person_name
from .sanitize import html_left_out_of, sanitize_html
from .validators import validate_plain_text

logger = logging.getLogger(__name__)

# Revisions are stored as JSON; the first serializer Django is asked for loads all its built-in ones,
# and the XML one brings xml.dom and xml.sax: a fortieth of the CPU of an import from cron.
imports.defer("django.core.serializers.xml_serializer")

PUBLISH_PERMISSION = "articles.publish_article"
# What a reader reads of an article: when one of them changes, its content changed (dateModified).
CONTENT_FIELDS = ("title", "summary", "body", "cover_image")
# The home page shows one 头条 and at most this many 要闻 (issue 25).
MOST_TOP_STORIES = 5
# What the desk sets, not the article's content: a restore leaves them as they are.
PIN_FIELDS = ("pin", "pin_order", "pinned_until")
# SQLite takes at most 32,766 values to a statement (999 before 3.32; PostgreSQL's protocol 65,535):
# a write naming many rows (a tag merge: a source's tag is on tens of thousands of articles) names
# them, or writes their values, this many at a time.
VALUES_PER_STATEMENT = 500
NO_PUBLISH_PERMISSION = "你没有发布权限：不能发布或撤回文章，也不能修改已发布文章的发布时间。"
CHANGE_PUBLISHED_PERMISSION = "articles.change_published_article"
NO_CHANGE_PUBLISHED_PERMISSION = "已发布的文章只有编辑能修改：请把要改的地方告诉编辑。"


def _revision():
    """A revision (or a part of the caller's) that records only what is added to it explicitly: once
    each object's tags and stocks are set, not at every row saved on the way."""
    return reversion.create_revision(manage_manually=True, atomic=False)


def may_publish(user):
    return user is None or user.has_perm(PUBLISH_PERMISSION)


def save_article(
    article,
    *,
    user=None,
    tags=None,
    stocks=None,
    edited=True,
    comment="",
    savepoint=True,
    search_text=None,
    validated=None,
):
    """Validate and save ``article`` whole, with its ``tags`` (names or Tags) and ``stocks``.

    ``None`` leaves tags or stocks as they are. ``edited`` marks the article as changed by an
    editor, so that a later import of its file does not overwrite it. A new cover image is
    re-encoded and given a thumbnail. A user's save that changes nothing (an editor saving the form
    as it was opened) writes nothing: no revision, and ``updated_at`` and ``edited_since_import``
    stay as they were. Raises ValidationError or PermissionDenied, writing nothing.

    ``savepoint=False`` is for a caller that holds a savepoint around this call and what it
    prepared for it (the import: one per file), which a failure rolls back whole: a second one
    inside it costs two statements more per article and guards nothing more.

    ``search_text`` is the article's search.ArticleText if the caller made it beforehand (the
    import, with the parsing): the index takes its tokens if they are of the article as saved.
    ``validated``: fields validated beforehand (validate_fields(), in the import's workers), left out
    of this save's validation where the article still has those values.
    """
    is_new = article.pk is None
    _require(user, "articles.add_article" if is_new else "articles.change_article")
    stored = None
    # Inside a revision of the caller's (the admin's), reversion records the article in it;
    # otherwise this save is its own revision (_record_revision).
    in_callers_revision = reversion.is_active()
    with transaction.atomic(savepoint=savepoint), _revision() if in_callers_revision else contextlib.nullcontext():
        if user is not None:
            stored = None if is_new else Article.objects.select_for_update().filter(pk=article.pk).first()
            _check_publishing_fields(user, article, stored)
            _fill_bylines(user, article, stored)
            if not comment and stored is not None and stored.status != article.status:
                comment = _status_comment(stored.status, article)
        tag_objects = None if tags is None else _tag_objects(tags)
        # Whoever sends it (the import and the admin have cleaned it already: the allow-list is
        # idempotent), a body is stored only as the allow-list leaves it (pages clean it again for
        # rows written around this: sanitize.body_as_shown).
        article.body = _sanitized_body(article.body)
        if stored is not None and _same_as_stored(article, stored, tag_objects, stocks):
            return article
        before = [] if is_new else keys.stored_states([article.pk])
        article.edited_since_import = edited
        # Uniqueness is left to the database's constraints, which also settle two writers racing
        # (the import retries on IntegrityError); the admin's forms check it first for their message.
        exclude = _read_relations(article) + _still_as_validated(article, validated)
        exclude += _drop_links_to_rows_gone(article, exclude)
        article.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        _prepare_cover(article)
        if not is_new and _content_differs(article):
            article.content_changed_at = timezone.now()
        _save_all_but_pins(article, is_new)
        tagged = None if tag_objects is None else _set_tags(article, tag_objects, is_new)
        if stocks is not None and is_new:
            _add_new_stocks(article, stocks)
        elif stocks is not None:
            article.stocks.set(stocks)
        known = stocks is not None and all(isinstance(stock, StockReference) for stock in stocks)
        # Recorded now that its tags and stocks are set: the revision's copy must include them.
        if in_callers_revision:
            reversion.add_to_revision(article)
            _describe_revision(user, comment)
        elif is_new and tagged is not None and known:
            # A new article's rows are exactly those just written: recorded without reading them back.
            _record_revision(article, user, comment, tagged=tagged, stocks=stocks)
        else:
            _record_revision(article, user, comment)
        tag_ids = {tag.pk for tag in tag_objects} if tag_objects is not None else _ids(before, "tag_ids")
        stock_ids = (
            {getattr(stock, "pk", stock) for stock in stocks} if stocks is not None else _ids(before, "stock_ids")
        )
        _list_under_stocks(article, stock_ids, before)
        search.index_article(article, stocks if known else article.stocks.all(), tag_ids, new=is_new, text=search_text)
        after = [keys.ArticleState.of(article, tag_ids, stock_ids)]
        content_changed(keys.article_change(before, after), after)
    return article


def _read_relations(article):
    """The foreign keys of ``article`` set to an object read from the database (the import's
    categories, a form's choices): full_clean() would read each again to see that it exists, a
    query per save; one deleted since is still refused, by the database's foreign key."""
    return [
        field.name
        for field in Article._meta.concrete_fields
        if field.is_relation
        and field.is_cached(article)
        and (related := field.get_cached_value(article)) is not None
        and not related._state.adding
        and related.pk == getattr(article, field.attname)
    ]


# The links a deletion clears (on_delete SET_NULL): a copy's lead, the 责任编辑.
_CLEARED_LINKS = [
    field
    for field in Article._meta.concrete_fields
    if field.is_relation and field.remote_field.on_delete is models.SET_NULL
]


def _drop_links_to_rows_gone(article, checked):
    """Clear the links of ``article`` that a deletion clears (_CLEARED_LINKS) to a row deleted
    around the database's foreign keys (sqlite3's shell checks none unless told to), as the
    deletion would have: full_clean() refused every save of it, for a value nobody can choose
    again. Returns the names of the links it read, which full_clean() need not read again;
    ``checked``: names it need not read either (_read_relations)."""
    read = []
    for field in _CLEARED_LINKS:
        linked = getattr(article, field.attname)
        if field.name in checked or linked is None:
            continue
        if not field.related_model._base_manager.filter(pk=linked).exists():
            setattr(article, field.attname, None)
        read.append(field.name)
    return read


def validate_fields(values):
    """Validate ``values``, {name: value} of an article's own fields, by the model's rules for each
    field, without the database; returns them for save_article's ``validated``. The import's workers
    validate this way what they parse, so that the one writer does not (a tenth of its work). Rules
    that involve several fields or the database (Article.clean, relations) are left to the save.
    Raises ValidationError."""
    Article(**values).clean_fields(exclude=[field.name for field in Article._meta.fields if field.name not in values])
    return values


def _still_as_validated(article, validated):
    """The names of the fields of ``validated`` (validate_fields()) whose values ``article`` still has."""
    return [name for name, value in (validated or {}).items() if getattr(article, name) == value]


def _record_revision(article, user, comment, tagged=None, stocks=None):
    """Write ``article``'s revision as reversion's create_revision() would: the article and, as its
    registration follows them, its tag rows, each as Django's JSON serializer writes it. Not through
    reversion: before writing, it reads back whether each object still exists (a query per model,
    two for every save), which those saved a moment ago in this transaction do.

    ``tagged`` and ``stocks``, for a new article: its tag rows and StockReferences as just written,
    recorded as they are instead of read back (two queries for every article the import writes)."""
    revision_id = _new_revision(user, comment)
    held = None if stocks is None else {"stocks": stocks}
    tag_rows = article.tagged_items.all() if tagged is None else tagged
    _insert_rows(
        Version, [_version_row(revision_id, article, held), *(_version_row(revision_id, row) for row in tag_rows)]
    )


def _new_revision(user, comment):
    """Insert a revision by ``user`` (None: the system) saying ``comment``; returns its id."""
    (revision_id,) = _insert_rows(
        Revision, [{"date_created": timezone.now(), "user_id": user and user.pk, "comment": comment}]
    )
    return revision_id


def _version_row(revision_id, instance, held=None):
    """The Version row of ``instance`` in the revision ``revision_id`` ({attname: value}), as
    reversion writes it; ``held`` as _serialized's."""
    return {
        "revision_id": revision_id,
        "content_type_id": ContentType.objects.get_for_model(type(instance)).pk,
        "object_id": str(instance.pk),
        "db": router.db_for_write(type(instance), instance=instance),
        "format": "json",
        "serialized_data": _serialized(instance, held),
        "object_repr": str(instance),
    }


def _serialized(instance, held=None):
    """``instance`` as Django's JSON serializer writes it alone (``[{"model": …, "pk": …, "fields":
    {…}}]``), the text reversion stores and restores, made here without the serializer's machinery
    around it (a third of a revision's cost), and with the C encoder (json.dumps: the same text).

    ``held``: {name: objects} of many-to-many relations as just written (a new article's stocks),
    listed in the order the serializer reads them (the related model's ordering); another is read
    as the serializer reads it (_JSONSerializer)."""
    meta = instance._meta.concrete_model._meta
    fields = {}
    for field in meta.local_fields:
        if field.serialize:
            fields[field.name] = _serialized_value(instance, field)
    for field in meta.local_many_to_many:
        if field.serialize:
            related = (held or {}).get(field.name)
            if related is not None and field.remote_field.through._meta.auto_created:
                unique = {obj.pk: obj for obj in related}.values()
                ordered = sorted(unique, key=_ordering_key(field.related_model))
                fields[field.name] = [_serialized_value(obj, obj._meta.pk) for obj in ordered]
            else:
                fields[field.name] = _JSONSerializer().serialize_m2m(instance, field)
    data = {"model": str(instance._meta), "pk": _serialized_value(instance, instance._meta.pk), "fields": fields}
    return f"[{json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)}]"


@functools.cache
def _ordering_key(model):
    """A sort key putting ``model``'s objects in its Meta.ordering (plain ascending field names)."""
    if any(not isinstance(name, str) or name.startswith(("-", "?")) for name in model._meta.ordering):
        raise NotImplementedError(f"{model._meta.label}'s ordering is not ascending fields")
    names = [field.get_attname() for field in map(model._meta.get_field, model._meta.ordering)]
    return operator.attrgetter(*names) if names else operator.attrgetter("pk")


def _serialized_value(instance, field):
    """A field's value as the serializer writes it (its _value_from_field)."""
    value = field.value_from_object(instance)
    return value if is_protected_type(value) else field.value_to_string(instance)


class _JSONSerializer(JSONSerializer):
    def serialize_m2m(self, instance, field):
        self.use_natural_foreign_keys, self._current = False, {}
        self.handle_m2m_field(instance, field)
        return self._current[field.name]


def _insert(objects):
    """Insert the new ``objects`` (instances of one model) in one statement and give each its
    primary key, as bulk_create does; returns them.

    Not bulk_create: building its statement anew was most of the cost of the few rows a save
    writes beside the article (its tags, stocks, listings and revision; bench/), and for a given
    model and number of rows the statement is always the same (_insert_statement)."""
    if not objects:
        return objects
    model = type(objects[0])
    alias = router.db_for_write(model)
    _, fields = _insert_statement(model, len(objects), alias)
    keys = _insert_values(model, alias, [[field.pre_save(obj, True) for field in fields] for obj in objects])
    for obj, (key,) in zip(objects, keys, strict=True):
        obj.pk = key
        obj._state.adding, obj._state.db = False, alias
    return objects


def _insert_rows(model, rows):
    """Insert ``rows`` of ``model`` given as {attname: value} (every concrete field but the primary
    key), without making an instance of each (the revision's and a new article's relation rows),
    at most VALUES_PER_STATEMENT values to a statement; returns their primary keys."""
    if not rows:
        return []
    alias = router.db_for_write(model)
    _, fields = _insert_statement(model, 1, alias)
    values = [[row[field.attname] for field in fields] for row in rows]
    per_statement = max(1, VALUES_PER_STATEMENT // len(fields))
    keys = []
    for start in range(0, len(values), per_statement):
        keys += _insert_values(model, alias, values[start : start + per_statement])
    return [key for (key,) in keys]


def _insert_values(model, alias, rows, conflicts_return=()):
    """Insert ``rows`` of ``model``'s values (_insert_statement's fields, as Python values) in one
    statement; returns the rows it returns (_insert_statement)."""
    connection = connections[alias]
    statement, fields = _insert_statement(model, len(rows), alias, conflicts_return)
    prepared = _preparers(model, alias)
    values = [prepare(value) for row in rows for prepare, value in zip(prepared, row, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        return cursor.fetchall()


@functools.cache
def _insert_statement(model, rows, alias, conflicts_return=()):
    """``INSERT … VALUES (…), … RETURNING pk`` for ``rows`` new rows of ``model``, and its fields.

    ``conflicts_return``: names of fields (a natural key); a row conflicting with a unique
    constraint is then not written, and each row written returns its primary key and those
    fields' values (the rows returned no longer say by their order which were written)."""
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert:
        raise NotImplementedError(f"{connection.vendor} cannot return the keys of inserted rows")
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key and not field.generated]
    row = f"({', '.join(['%s'] * len(fields))})"
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES {', '.join([row] * rows)}"
    )
    if conflicts_return:
        natural = ", ".join(quote(meta.get_field(name).column) for name in conflicts_return)
        return f"{statement} ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}, {natural}", fields
    return f"{statement} RETURNING {quote(meta.pk.column)}", fields


@functools.cache
def _preparers(model, alias):
    """For each of _insert_statement's fields, what makes a value the database's (get_db_prep_save).

    A text field's own preparation leaves a str as it is: skipping its chain of calls for a str
    was a tenth of an insert's cost for an article's dozen text columns."""
    connection = connections[alias]
    _, fields = _insert_statement(model, 1, alias)
    return [
        _text_preparer(field, connection) if _keeps_str(field) else _preparer(field, connection) for field in fields
    ]


def _preparer(field, connection):
    return functools.partial(field.get_db_prep_save, connection=connection)


def _text_preparer(field, connection):
    prepare = _preparer(field, connection)
    return lambda value: value if type(value) is str else prepare(value)


def _keeps_str(field):
    """Whether ``field``'s get_db_prep_save returns a str unchanged (Django's own text fields)."""
    kind = type(field)
    return (
        isinstance(field, (models.CharField, models.TextField))
        and kind.get_db_prep_save is models.Field.get_db_prep_save
        and kind.get_db_prep_value is models.Field.get_db_prep_value
        and kind.get_prep_value in (models.CharField.get_prep_value, models.TextField.get_prep_value)
        and kind.to_python in (models.CharField.to_python, models.TextField.to_python)
    )


# What an editor's save does not set: the times, the mark of the save itself, and the desk's pins.
_NOT_WRITTEN_BY_EDITORS = {"created_at", "updated_at", "edited_since_import", *PIN_FIELDS}


def _same_as_stored(article, stored, tags, stocks):
    """Whether saving ``article`` with ``tags`` and ``stocks`` (None: kept) would leave ``stored`` as it is."""
    fields = (field.attname for field in Article._meta.concrete_fields if field.name not in _NOT_WRITTEN_BY_EDITORS)
    if any(getattr(article, name) != getattr(stored, name) for name in fields):
        return False
    if article.cover_image and not article.cover_image._committed:
        return False  # a new upload, even under the old file's name
    if tags is not None and {tag.pk for tag in tags} != set(stored.tagged_items.values_list("tag_id", flat=True)):
        return False
    wanted_stocks = None if stocks is None else {getattr(stock, "pk", stock) for stock in stocks}
    return wanted_stocks is None or wanted_stocks == set(stored.stocks.values_list("pk", flat=True))


class ChangedSinceSeen(ValidationError):
    """The stored article is no longer the version an editor's form was opened on; ``who`` saved
    it then (a name, or how it was written: the import)."""

    def __init__(self, stored_at, who):
        super().__init__(
            "这篇文章在您打开之后已被%(who)s修改（%(when)s）。您的修改尚未保存：再次保存会以表单为准"
            "覆盖那次修改（状态、发布时间和置顶，您没有改的保持那次修改后的样子）；也可以先在新窗口打开"
            "这篇文章，对照最新版本。",
            code="changed_since_seen",
            params={"who": who, "when": timezone.localtime(stored_at).strftime("%Y-%m-%d %H:%M:%S")},
        )
        self.stored_at = stored_at


def _last_saved_by(article_pk, user=None):
    """Who made the article's latest revision, as the conflict message names them: 编辑 and a name,
    您自己 when it is ``user`` (the editor asking: the form open in two windows), or 导入或系统 when
    it has no user (the import, the API, a command)."""
    latest = Version.objects.get_for_object_reference(Article, article_pk).select_related("revision__user").first()
    if latest is None or latest.revision.user is None:
        return "导入或系统"
    if user is not None and latest.revision.user_id == user.pk:
        return "您自己（在另一个窗口或标签页中）"
    return f"编辑{person_name(latest.revision.user)}"


def check_unchanged_since(article_pk, seen_at, user=None):
    """Raise ChangedSinceSeen unless the stored article was last saved at ``seen_at`` (when the
    editor's form was opened): another editor's save or an import in between would otherwise be
    silently overwritten. The row stays locked until the caller's transaction ends, so nothing
    can be saved between this check and the caller's save (the admin's views are one transaction).
    ``user``: the editor saving, named as 您自己 when the save in between was theirs."""
    stored_at = Article.objects.select_for_update().filter(pk=article_pk).values_list("updated_at", flat=True).first()
    if stored_at is not None and stored_at != seen_at:
        raise ChangedSinceSeen(stored_at, _last_saved_by(article_pk, user))


def _content_differs(article):
    """Whether ``article`` says something else than as stored (CONTENT_FIELDS; one query)."""
    stored = Article.objects.filter(pk=article.pk).values_list(*CONTENT_FIELDS).first()
    return stored is None or any(
        str(getattr(article, field) or "") != str(value or "")
        for field, value in zip(CONTENT_FIELDS, stored, strict=True)
    )


def _sanitized_body(body):
    """``body`` as the allow-list leaves it; one it refuses (nested too deep) is the body's error."""
    try:
        return sanitize_html(body)
    except ValidationError as error:
        raise ValidationError({"body": error.error_list}) from None


def _ids(states, field):
    return getattr(states[0], field) if states else set()


def note_source_path(info_code, path):
    """Record that the article of ``info_code`` (str) now comes from the file at ``path`` (str): a
    post renamed or moved without a change to its content (the import's hash skip). Bookkeeping,
    not content: no revision, no cache effect (no page shows where a post's file lies)."""
    Article.objects.filter(info_code=info_code).update(source_path=path[:1000])


def set_status(articles, status, *, user=None, comment=""):
    """Publish or withdraw ``articles`` (a queryset), each saved as an edit; returns how many changed.

    Raises PermissionDenied without the change and publish permissions, and ValidationError, writing
    nothing, when an article is not valid as it is stored (a row from before a rule): the editor
    fixes it in its form first.
    """
    _require(user, "articles.change_article")
    if not may_publish(user):
        raise PermissionDenied(NO_PUBLISH_PERMISSION)
    with transaction.atomic(), _revision():
        changed = list(articles.exclude(status=status).select_for_update())
        before = keys.stored_states(article.pk for article in changed)
        for article in changed:
            article.status = status
            article.edited_since_import = True
            if status == Article.Status.PUBLISHED and user is not None and article.responsible_editor_id is None:
                article.responsible_editor = user
            _validated(article)
            article.save()
            reversion.add_to_revision(article)
        _describe_revision(user, comment)
        after = [dataclasses.replace(state, published=status == Article.Status.PUBLISHED) for state in before]
        content_changed(keys.article_change(before, after), after)
    return len(changed)


def pin_article(article, *, kind, order=None, until=None, user=None):
    """Pin ``article`` to the home page as ``kind`` (Article.Pin.LEAD, 头条, or TOP, 要闻) until
    ``until`` (an aware datetime; None: until unpinned); returns the articles whose pin changed,
    as stored now: the article first, then the 头条 it replaced.

    ``order`` places a 要闻 among the others (smaller first; None: after the last). A new 头条
    replaces the one before, which is unpinned in the same revision. The pin shows while the
    article is published and due (ArticleQuerySet.pinned); at ``until`` it drops off the home page
    by itself (caching.moments.pins_ending). Raises PermissionDenied without the change and
    publish permissions (pinning is a publishing decision), ValidationError for an end already
    past or a sixth 要闻 (MOST_TOP_STORIES), writing nothing.
    """
    kind = Article.Pin(kind)
    _require(user, "articles.change_article")
    if not may_publish(user):
        raise PermissionDenied(NO_PUBLISH_PERMISSION)
    with transaction.atomic(), _revision():
        article = Article.objects.select_for_update().get(pk=article.pk)
        check_pin(article.pk, kind, until)
        changed = [article]
        if kind == Article.Pin.LEAD:
            # Locked, so two desks pinning a 头条 at once wait for each other (and the database's
            # one_lead_article constraint would refuse the second anyway).
            changed += list(Article.objects.select_for_update().filter(pin=Article.Pin.LEAD).exclude(pk=article.pk))
            for replaced in changed[1:]:
                _set_pin(replaced, None, 0, None)
        elif order is None:
            others = Article.objects.pins_in_force().filter(pin=Article.Pin.TOP).exclude(pk=article.pk)
            order = (others.aggregate(last=models.Max("pin_order"))["last"] or 0) + 1
        _set_pin(article, kind, order or 0, until)
        for pinned in changed:
            reversion.add_to_revision(pinned)
        ends = f"，至 {timezone.localtime(until):%Y-%m-%d %H:%M}" if until else ""
        _describe_revision(user, f"设为{kind.label}{ends}")
        content_changed({keys.HOME})
    return changed


def check_pin(article_pk, kind, until):
    """Raise ValidationError (for the fields ``pin`` or ``pinned_until``) unless the article of
    ``article_pk`` (None: a new one) may be pinned as ``kind`` until ``until``: an end in the
    future, and room among the 要闻 (MOST_TOP_STORIES, counting pins not ended)."""
    if until is not None and until <= timezone.now():
        raise ValidationError({"pinned_until": "置顶截止时间已经过去：请选一个将来的时间，或留空。"})
    if Article.Pin(kind) == Article.Pin.TOP:
        others = Article.objects.pins_in_force().filter(pin=Article.Pin.TOP).exclude(pk=article_pk)
        titles = list(others.values_list("title", flat=True)[: MOST_TOP_STORIES + 1])
        if len(titles) >= MOST_TOP_STORIES:
            raise ValidationError({"pin": f"要闻最多 {MOST_TOP_STORIES} 篇：请先取消一篇（{'、'.join(titles)}）。"})


def unpin_article(article, *, user=None):
    """Take ``article`` off the home page's 头条 or 要闻 (the latest list shows it as before).

    Raises PermissionDenied as pin_article does; an article not pinned is left alone (no revision).
    Returns whether it was pinned.
    """
    _require(user, "articles.change_article")
    if not may_publish(user):
        raise PermissionDenied(NO_PUBLISH_PERMISSION)
    with transaction.atomic(), _revision():
        article = Article.objects.select_for_update().get(pk=article.pk)
        if article.pin is None:
            return False
        was = article.get_pin_display()
        _set_pin(article, None, 0, None)
        reversion.add_to_revision(article)
        _describe_revision(user, f"取消{was}")
        content_changed({keys.HOME})
    return True


def _save_all_but_pins(article, is_new):
    """Save ``article`` but for its pin, which pin_article alone writes (a form or a restore
    carrying one changes nothing on the home page, whoever sends it)."""
    if is_new:
        article.pin, article.pin_order, article.pinned_until = None, 0, None
        _create(article)
        return
    article.save(update_fields=_NOT_PIN_FIELDS)


_NOT_PIN_FIELDS = [
    field.name for field in Article._meta.concrete_fields if not field.primary_key and field.name not in PIN_FIELDS
]


def _create(article):
    """``article.save()`` for a new article: the same row and signals, its statement built once
    (_insert), not for each article the import creates."""
    article.give_slug()
    alias = router.db_for_write(Article, instance=article)
    signals.pre_save.send(sender=Article, instance=article, raw=False, using=alias, update_fields=None)
    _insert([article])
    signals.post_save.send(sender=Article, instance=article, created=True, update_fields=None, raw=False, using=alias)


def _set_pin(article, pin, order, until):
    article.pin, article.pin_order, article.pinned_until = pin, order, until
    article.save(update_fields=[*PIN_FIELDS, "updated_at"])


def submit_for_review(article, *, user=None):
    """Send ``article`` (a draft) to the editors' 待审 list: its status becomes PENDING, its
    review note is cleared; one revision. Raises PermissionDenied without the change permission,
    ValidationError when it is not a draft (already waiting, or published)."""
    _require(user, "articles.change_article")
    with transaction.atomic(), _revision():
        article = Article.objects.select_for_update().get(pk=article.pk)
        if article.status != Article.Status.DRAFT:
            raise ValidationError(f"只有草稿可以提交审核（这篇文章现在是“{article.get_status_display()}”）。")
        article.status, article.review_note = Article.Status.PENDING, ""
        _validated(article)
        article.save(update_fields=["status", "review_note", "updated_at"])
        reversion.add_to_revision(article)
        _describe_revision(user, "提交审核")
        content_changed({keys.article(article.pk)})
    return article


def return_for_revision(article, *, note, user=None):
    """Give ``article`` (waiting for review) back to its writer as a draft with ``note`` (shown on
    the form; required). Raises PermissionDenied without the publish permission (returning is the
    editor's half of the review), ValidationError without a note or when it is not waiting."""
    _require(user, "articles.change_article")
    if not may_publish(user):
        raise PermissionDenied(NO_PUBLISH_PERMISSION)
    note = note.strip()
    if not note:
        raise ValidationError({"review_note": "退回时请写明要修改什么。"})
    with transaction.atomic(), _revision():
        article = Article.objects.select_for_update().get(pk=article.pk)
        if article.status != Article.Status.PENDING:
            raise ValidationError(f"只有待审的稿件可以退回（这篇文章现在是“{article.get_status_display()}”）。")
        article.status, article.review_note = Article.Status.DRAFT, note
        _validated(article)
        article.save(update_fields=["status", "review_note", "updated_at"])
        reversion.add_to_revision(article)
        _describe_revision(user, f"退回修改：{note}")
        content_changed({keys.article(article.pk)})
    return article


def join_story(article, lead, *, user=None):
    """Make ``article`` (and any copies it had) a copy of the story that ``lead`` leads.

    Raises PermissionDenied, or ValidationError (writing nothing) when ``lead`` is the article
    itself or a copy of another story.
    """
    _require(user, "articles.change_article")
    if lead.pk == article.pk or lead.story_id is not None:
        raise ValidationError({"story": "只能并入一篇本身不是副本的其他文章。"})
    with transaction.atomic(), _revision():
        joining = [*article.copies.all(), article]
        before = keys.stored_states(copy.pk for copy in joining)
        for copy in joining:
            copy.story = lead
            _validated(copy)
            copy.save(update_fields=["story", "updated_at"])
            reversion.add_to_revision(copy)
        _describe_revision(user, f"并入“{lead.title}”（同一新闻）")
        after = [dataclasses.replace(state, story_id=lead.pk) for state in before]
        content_changed(keys.article_change(before, after), after)


def split_stories(articles, *, user=None):
    """Each of ``articles`` (a queryset) becomes a story of its own again, and so do the copies of
    those that led a story; returns how many articles changed."""
    _require(user, "articles.change_article")
    with transaction.atomic(), _revision():
        changed = list(
            Article.objects.filter(
                models.Q(pk__in=articles.values("pk"), story__isnull=False) | models.Q(story__in=articles.values("pk"))
            )
        )
        before = keys.stored_states(article.pk for article in changed)
        for article in changed:
            article.story = None
            _validated(article)
            article.save(update_fields=["story", "updated_at"])
            reversion.add_to_revision(article)
        _describe_revision(user, "拆分同一新闻")
        after = [dataclasses.replace(state, story_id=None) for state in before]
        content_changed(keys.article_change(before, after), after)
    return len(changed)


def delete_articles(articles, *, user=None):
    """Delete ``articles`` (a queryset), and their search index rows; raises PermissionDenied."""
    _require(user, "articles.delete_article")
    with transaction.atomic():
        before = keys.stored_states(articles.values_list("pk", flat=True))
        articles.delete()
        search.remove_articles(state.pk for state in before)
        content_changed(keys.article_change(before))


# What a restore leaves as it is: the article's publication state (a withdrawn or scheduled
# article restored to the text it had when published stays withdrawn or scheduled: an editor
# trial put a withdrawn article back online this way), its story, the desk's pins, and the file
# the import last read (restoring an older hash would make the next import see a changed file).
_KEPT_BY_RESTORE = {"id", "created_at", "updated_at", "status", "published_at", "story_id", "source_hash", *PIN_FIELDS}


def restore_version(version, *, user=None):
    """Make the content of the article of ``version`` (a reversion Version of an Article) what it
    was then, with its tags and stocks, as one new revision; returns (article, warnings). Its
    status and publication time stay as they are (_KEPT_BY_RESTORE): publishing is a separate act.

    The state before is read before anything is written, so the lists of a tag the restore takes
    away are purged too. A tag merged since (银杭 into 银行) is restored as the tag it became
    (RetiredTag); a tag or stock deleted since cannot be, and ``warnings`` (in Chinese, for the
    editor) name it, as they name what of the version's body the allow-list as it is now leaves
    out (html_left_out: a tag or an address it no longer keeps), in the words of an admin save.
    Raises PermissionDenied as save_article does, and ValidationError when the article (deleted
    while its 历史 was open) or the version's category no longer exists.
    """
    # Here, not at the top: the import's wording imports the import, which writes through here.
    from .intake.reasons import body_left_out_on_save

    fields = version.field_dict
    article = Article.objects.filter(pk=version.object_id).first()
    if article is None:
        raise ValidationError("这篇文章已被删除，不能恢复到它的某个版本：请在文章列表的“恢复已删除的 文章”中恢复它。")
    category_id = fields["category_id"]
    if not Category.objects.filter(pk=category_id).exists():
        raise ValidationError({"category": "这个版本的分类已被删除，不能恢复：请先在修改页选择其他分类。"})
    for field in Article._meta.concrete_fields:
        if field.attname in fields and field.attname not in _KEPT_BY_RESTORE:
            setattr(article, field.attname, fields[field.attname])
    tags, warnings = _tags_of(version)
    stock_ids = set(fields.get("stocks", ()))
    stocks = list(StockReference.objects.filter(pk__in=stock_ids))
    if len(stocks) < len(stock_ids):
        warnings.append(f"这个版本提到的 {len(stock_ids) - len(stocks)} 只股票已被删除，未能恢复。")
    left_out = html_left_out_of(article.body)
    when = timezone.localtime(version.revision.date_created).strftime("%Y-%m-%d %H:%M")
    save_article(article, user=user, tags=tags, stocks=stocks, comment=f"恢复到 {when} 的版本")
    if any(left_out):
        warnings.append(body_left_out_on_save(*left_out))
    return article, warnings


def _tags_of(version):
    """The Tags an article had in ``version``, each merged one as the tag it became; and a warning
    naming those deleted since."""
    tagged = ContentType.objects.get_for_model(TaggedArticle)
    tag_ids = [
        item.field_dict["tag_id"]
        for item in version.revision.version_set.filter(content_type=tagged)
        if item.field_dict["content_object_id"] == int(version.object_id)
    ]
    existing = Tag.objects.in_bulk(tag_ids)
    retired = {row.tag_id: row for row in RetiredTag.objects.all()} if len(existing) < len(tag_ids) else {}
    tags, deleted = [], []
    for tag_id in tag_ids:
        names = []
        while tag_id not in existing and tag_id in retired and tag_id not in names:
            names.append(tag_id)
            row = retired[tag_id]
            if row.merged_into_id is None:
                break
            tag_id = row.merged_into_id
            existing.update(Tag.objects.in_bulk([tag_id]))
        if tag_id in existing:
            tags.append(existing[tag_id])
        else:
            deleted.append(retired[names[0]].name if names else f"编号 {tag_id}")
    warnings = [f"这个版本的标签“{'”“'.join(deleted)}”已被删除，未能恢复。"] if deleted else []
    return list(dict.fromkeys(tags)), warnings


def merge_tags(kept, merged, *, user=None):
    """Give every article of the ``merged`` tags the ``kept`` tag instead, then delete ``merged``.

    Each article touched is recorded in the revision, with its tags as they are after the merge.
    """
    _require(user, "articles.change_tag")
    _require(user, "articles.delete_tag")
    merged_ids = [tag.pk for tag in merged if tag.pk != kept.pk]
    with transaction.atomic():
        of_merged = TaggedArticle.objects.filter(tag_id__in=merged_ids)
        article_ids = sorted(set(of_merged.values_list("content_object_id", flat=True)))
        # Which of them lack the kept tag, asked with a subquery: a source's tag is on tens of
        # thousands of articles, more ids than SQLite takes to a statement.
        untagged = of_merged.exclude(
            content_object_id__in=TaggedArticle.objects.filter(tag=kept).values("content_object")
        )
        TaggedArticle.objects.bulk_create(
            [
                TaggedArticle(tag=kept, content_object_id=article_id)
                for article_id in set(untagged.values_list("content_object_id", flat=True))
            ],
            batch_size=VALUES_PER_STATEMENT // 2,
        )
        _retire(Tag.objects.filter(pk__in=merged_ids), into=kept)
        Tag.objects.filter(pk__in=merged_ids).delete()
        # Pages showing a merged tag hold its key; an article near one now given the kept tag may
        # list it as related news.
        affected = {keys.tag(kept.pk), keys.tag_list(kept.pk), keys.SITE}
        affected.update(key for pk in merged_ids for key in (keys.tag(pk), keys.tag_list(pk)))
        # Recorded with the kept tag (their tag rows, as the registration follows them); each whole,
        # so a save marks it edited. Not through reversion, which reads back every object recorded
        # in one statement: more ids than SQLite takes for a source's tag.
        revision_id = _new_revision(user, f"合并标签到“{kept.name}”") if article_ids else None
        for start in range(0, len(article_ids), VALUES_PER_STATEMENT):
            batch = Article.objects.filter(pk__in=article_ids[start : start + VALUES_PER_STATEMENT])
            versions = []
            for article in batch.prefetch_related("tagged_items", "stocks"):
                versions.append(_version_row(revision_id, article))
                versions.extend(_version_row(revision_id, row) for row in article.tagged_items.all())
                affected.update(keys.entering_related(article.published_at, [kept.pk], []))
            _insert_rows(Version, versions)
        # Their index entries name the kept tag instead: a search for its name finds them.
        search.index_articles(article_ids)
        content_changed(affected)


def save_topic(topic, *, user=None):
    """Validate and save a category, tag or stock: what articles are listed under."""
    _require(user, f"articles.{'add' if topic.pk is None else 'change'}_{topic._meta.model_name}")
    # A slug left empty is made from the name when the topic is saved.
    made_on_save = ["slug"] if hasattr(topic, "slug") and not topic.slug else []
    with transaction.atomic():
        topic.full_clean(exclude=made_on_save, validate_unique=False, validate_constraints=False)
        is_new = topic.pk is None
        topic.save()
        if isinstance(topic, StockReference) and not is_new:
            # Its code and name are in the index text of the articles mentioning it (a tag is
            # there by its id, which a rename leaves as it is: search.text.tag_token).
            search.index_articles(topic.articles.values_list("pk", flat=True))
        content_changed(keys.topic_change(topic))
    return topic


def delete_topics(topics, *, user=None):
    """Delete categories, tags or stocks (a queryset); a category that still has articles is protected.

    A deleted tag is remembered (RetiredTag), so that a restore can name it; the articles of a
    deleted tag or stock leave its index text.
    """
    _require(user, f"articles.delete_{topics.model._meta.model_name}")
    with transaction.atomic():
        content_changed(set().union(*(keys.topic_change(topic) for topic in topics)))
        mentioning = []
        if topics.model is Tag:
            _retire(topics, into=None)
            mentioning = list(
                TaggedArticle.objects.filter(tag__in=topics).values_list("content_object_id", flat=True).distinct()
            )
        elif topics.model is StockReference:
            mentioning = list(Article.objects.filter(stocks__in=topics).values_list("pk", flat=True).distinct())
        topics.delete()
        search.index_articles(mentioning)


def _retire(tags, into):
    RetiredTag.objects.bulk_create(
        [RetiredTag(tag_id=tag.pk, name=tag.name, merged_into_id=into and into.pk) for tag in tags],
        update_conflicts=True,
        unique_fields=["tag_id"],
        update_fields=["name", "merged_into_id", "retired_at"],
    )
    # A tag merged into one of these follows it on.
    RetiredTag.objects.filter(merged_into_id__in=[tag.pk for tag in tags]).update(merged_into_id=into and into.pk)


def stock_references(mentions, *, user=None, new=False):
    """The StockReference of each of ``mentions`` (objects with ``market``, ``code`` and ``name``),
    created where missing, each validated as the admin's would be: {(market, code): stock}.

    A stock without a name takes the name a mention gives it (an article writing 中国太保 beside
    601601); a name is never replaced, so one an editor set wins. Raises ValidationError (writing
    nothing) for a mention no stock may be, PermissionDenied. A new stock is on no page until an
    article mentioning it is saved (save_article purges its list).

    ``new``: the caller read every stored stock a moment ago and found none of these (the import,
    at the start of a long run): they are inserted without a look first (one stored since is read).
    """
    wanted = {(mention.market, mention.code) for mention in mentions}
    known = {} if new else _stored_stocks(wanted)
    missing = {
        (mention.market, mention.code): StockReference(code=mention.code, market=mention.market, name=mention.name)
        for mention in mentions
        if (mention.market, mention.code) not in known
    }
    if missing:
        _require(user, "articles.add_stockreference")
        for stock in missing.values():
            stock.full_clean(validate_unique=False, validate_constraints=False)
        known.update(_insert_new_stocks(list(missing.values())))
        if len(known) < len(wanted):
            # Another import created them meanwhile (the unique constraint kept its row): read it.
            known.update(_stored_stocks(wanted - known.keys()))
    for mention in mentions:
        stock = known[(mention.market, mention.code)]
        if mention.name and not stock.name:
            stock.name = mention.name
            save_topic(stock, user=user)
    return known


def _insert_new_stocks(stocks):
    """Insert the new ``stocks`` in one statement, but those another writer stored meanwhile (a
    conflict on the unique constraint writes nothing); {(market, code): stock} of those inserted,
    with their keys. Not bulk_create, which cannot tell which rows were inserted: the stocks would
    be read back, a query more for every post mentioning a stock for the first time."""
    alias = router.db_for_write(StockReference)
    rows = [[stock.code, stock.market, stock.name] for stock in stocks]
    returned = _insert_values(StockReference, alias, rows, conflicts_return=("code", "market"))
    keys = {(code, market): pk for pk, code, market in returned}
    inserted = {}
    for stock in stocks:
        if (stock.code, stock.market) in keys:
            stock.pk = keys[(stock.code, stock.market)]
            stock._state.adding, stock._state.db = False, alias
            inserted[(stock.market, stock.code)] = stock
    return inserted


def _stored_stocks(wanted):
    """{(market, code): stock} of the stored stocks among ``wanted``, (market, code) pairs: read by
    their codes (the unique constraint's index starts with the code), not by a condition for each
    pair, which cost the import more to build than the few stocks of other markets it reads."""
    if not wanted:
        return {}
    stocks = StockReference.objects.filter(code__in={code for market, code in wanted})
    return {(stock.market, stock.code): stock for stock in stocks if (stock.market, stock.code) in wanted}


def _validated(article):
    """``article`` as the model's rules want it, or ValidationError (uniqueness is the database's)."""
    article.full_clean(validate_unique=False, validate_constraints=False)


def _require(user, permission):
    if user is not None and not user.has_perm(permission):
        raise PermissionDenied(f"你没有这项权限（{permission}）。")


def _check_publishing_fields(user, article, stored):
    """What a user may not do by saving an article: change a published one without
    change_published_article (contributors), move it between statuses or in time without the
    publish permission (review is submit_for_review, then an editor)."""
    if (
        stored is not None
        and stored.status == Article.Status.PUBLISHED
        and not user.has_perm(CHANGE_PUBLISHED_PERMISSION)
    ):
        raise PermissionDenied(NO_CHANGE_PUBLISHED_PERMISSION)
    if may_publish(user):
        return
    if stored is None:
        if article.status == Article.Status.PUBLISHED:
            raise PermissionDenied(NO_PUBLISH_PERMISSION)
        return
    if article.status != stored.status or (
        stored.status == Article.Status.PUBLISHED and article.published_at != stored.published_at
    ):
        raise PermissionDenied(NO_PUBLISH_PERMISSION)


def _fill_bylines(user, article, stored):
    """A new article's author is the editor writing it; its 责任编辑 is whoever publishes it."""
    if stored is None and not article.authors:
        article.authors = person_name(user)
    published_now = article.status == Article.Status.PUBLISHED and (
        stored is None or stored.status != Article.Status.PUBLISHED
    )
    if published_now and article.responsible_editor_id is None:
        article.responsible_editor = user


def _status_comment(before, article):
    if article.status == Article.Status.PUBLISHED:
        when = timezone.localtime(article.published_at).strftime("%Y-%m-%d %H:%M")
        verb = "批准发布" if before == Article.Status.PENDING else "发布"
        return f"{verb}（定时 {when}）" if article.published_at > timezone.now() else verb
    return "撤回为草稿" if before == Article.Status.PUBLISHED else ""


def validate_tag_names(names):
    """Raise ValidationError naming each of ``names`` (new or existing tags' names) that no tag may
    have: the admin's form checks them as the save will, so the editor reads why beside the field."""
    errors = []
    longest = Tag._meta.get_field("name").max_length
    for name in names:
        try:
            validate_plain_text(name)
        except ValidationError as error:
            errors.extend(error.messages)
        if len(name) > longest:
            errors.append(f"标签“{name[:20]}…”太长了，最多 {longest} 个字。")
    if errors:
        raise ValidationError(errors)


def _tag_objects(tags):
    """Tags for ``tags``: Tag objects, or names (checked here) of tags found case-insensitively, as
    taggit does, or created."""
    try:
        validate_tag_names([tag for tag in tags if isinstance(tag, str)])
    except ValidationError as error:
        raise ValidationError({"tags": error.messages}) from None
    return [
        tag if isinstance(tag, Tag) else Tag.objects.filter(name__iexact=tag).first() or save_topic(Tag(name=tag))
        for tag in tags
    ]


def _set_tags(article, tags, is_new):
    """The article's tags become exactly ``tags``, by the difference with what it has.

    Not taggit's manager: its set() costs four queries a tag, and the import writes thousands of
    articles (bench/). Nothing listens to taggit's signals here; the revision is recorded after.
    Returns the rows inserted (all the article's rows when it is new).
    """
    wanted = {tag.pk for tag in tags}
    current = set() if is_new else set(article.tagged_items.values_list("tag_id", flat=True))
    if current - wanted:
        article.tagged_items.filter(tag_id__in=current - wanted).delete()
    return _insert([TaggedArticle(content_object_id=article.pk, tag_id=tag_id) for tag_id in wanted - current])


def _add_new_stocks(article, stocks):
    """Give the new ``article`` ``stocks`` (StockReferences or their ids) in one insert.

    Not ``article.stocks.add()``: with reversion's m2m_changed receiver connected it first reads
    which of them the article has (a query per article the import writes), and a new article has
    none. The receiver does nothing in our manual revisions; save_article records the article after.
    """
    Through = Article.stocks.through
    stock_ids = dict.fromkeys(getattr(stock, "pk", stock) for stock in stocks)
    _insert_rows(Through, [{"article_id": article.pk, "stockreference_id": pk} for pk in stock_ids])


def _list_under_stocks(article, stock_ids, before):
    """Make the article's StockListing rows one for each of ``stock_ids``, at its publication time.

    ``before``: the article's stored state (empty for a new article, which has no rows yet). Rows
    are written only when its stocks or its time changed: an edit of the text leaves them alone.
    """
    if before and before[0].stock_ids == stock_ids and before[0].published_at == article.published_at:
        return
    if not before:
        _insert_rows(
            StockListing,
            [{"stock_id": pk, "article_id": article.pk, "published_at": article.published_at} for pk in stock_ids],
        )
        return
    _rewrite_stock_listings(article, stock_ids)


def _rewrite_stock_listings(article, stock_ids):
    StockListing.objects.filter(article=article).exclude(stock_id__in=stock_ids).delete()
    StockListing.objects.bulk_create(
        [StockListing(stock_id=pk, article=article, published_at=article.published_at) for pk in stock_ids],
        update_conflicts=True,
        unique_fields=["stock", "article"],
        update_fields=["published_at"],
    )


def _prepare_cover(article):
    """A newly uploaded cover is stored (store_cover); a removed one loses its thumbnails."""
    if article.cover_image:
        store_cover(article)
    else:
        article.cover_thumbnail = article.cover_list_image = article.cover_list_source = ""


COVER_NOT_STORED = (
    "封面图片无法保存（%(reason)s），文章还没有保存。您填写的其他内容都还在：请重新选择图片再保存，"
    "或先去掉封面保存文章；若一再失败，请联系管理员检查媒体存储。"
)


def store_cover(article):
    """Store ``article``'s newly uploaded cover re-encoded (pixels only), with its thumbnail and
    its lists' rendition (images.make_list_cover); a cover stored already is left alone.

    Every file or none: when the storage fails (a full disk, a read-only media folder: any
    OSError) every file written so far, partial ones included, is deleted and ValidationError is
    raised on ``cover_image``. The admin's form calls this while validating, so that the editor
    gets the error on the form, with everything typed kept; save_article calls it for everyone else.
    """
    cover = article.cover_image
    if not cover or cover._committed:
        return
    reencoded = reencode_cover(cover)
    files = {
        "cover_image": reencoded,
        "cover_thumbnail": make_thumbnail(reencoded),
        "cover_list_image": make_list_cover(reencoded),
    }
    written = []
    try:
        for field_name, content in files.items():
            field = Article._meta.get_field(field_name)
            name = field.storage.get_available_name(
                field.generate_filename(article, content.name), max_length=field.max_length
            )
            written.append((field.storage, name))
            stored_name = field.storage.save(name, content, max_length=field.max_length)
            written[-1] = (field.storage, stored_name)
            setattr(article, field_name, stored_name)
        article.cover_list_source = article.cover_image.name
    except OSError as error:
        for storage, name in written:
            _delete_quietly(storage, name)
        article.cover_image, article.cover_thumbnail, article.cover_list_image = cover, "", ""
        article.cover_list_source = ""
        reason = "存储空间已满" if error.errno == errno.ENOSPC else "媒体文件夹无法写入"
        raise ValidationError(
            {"cover_image": ValidationError(COVER_NOT_STORED, code="not_stored", params={"reason": reason})}
        ) from error


def stock_listings_out_of_step():
    """The ids of the articles (a sorted list) whose StockListing rows are not one for each stock
    they mention, at their publication time: SQL deleted, added or moved one. A stock's page reads
    those rows alone, and a save writes them only when the stocks or the time change."""
    mentions = Article.stocks.through.objects
    missing = mentions.exclude(
        models.Exists(
            StockListing.objects.filter(
                stock_id=models.OuterRef("stockreference_id"), article_id=models.OuterRef("article_id")
            )
        )
    ).values_list("article_id", flat=True)
    not_mentioned = StockListing.objects.exclude(
        models.Exists(
            mentions.filter(stockreference_id=models.OuterRef("stock_id"), article_id=models.OuterRef("article_id"))
        )
    ).values_list("article_id", flat=True)
    # Compared again as times: on SQLite a time SQL wrote in another form (check_content's
    # --repair-times) differs as text from the same instant.
    mistimed = [
        article_id
        for article_id, listed_at, published_at in StockListing.objects.exclude(
            published_at=models.F("article__published_at")
        ).values_list("article_id", "published_at", "article__published_at")
        if listed_at != published_at
    ]
    return sorted({*missing, *not_mentioned, *mistimed})


def relist_under_stocks(article_id):
    """Write the StockListing rows of the article ``article_id`` again from its stocks and time
    (its rows alone, if the article is gone)."""
    with transaction.atomic():
        article = Article.objects.filter(pk=article_id).only("pk", "published_at").first()
        listed = set(StockListing.objects.filter(article_id=article_id).values_list("stock_id", flat=True))
        if article is None:
            StockListing.objects.filter(article_id=article_id).delete()
            content_changed({keys.stock(pk) for pk in listed})
            return
        stock_ids = sorted(article.stocks.values_list("pk", flat=True))
        _rewrite_stock_listings(article, stock_ids)
        content_changed({keys.stock(pk) for pk in listed | set(stock_ids)})


def list_covers_to_remake():
    """The articles (a QuerySet) whose lists' rendition is not the one of their cover: missing (a
    cover 0025 could not read, an article the release before 0023 added), made from a cover
    replaced since or from an unknown one (cover_list_source: the release before 0023 replaced it,
    or it was made before 0026), or left from a removed cover."""
    made_from_another = ~models.Q(cover_list_source=models.F("cover_image"))
    with_cover = ~models.Q(cover_image="") & (models.Q(cover_list_image="") | made_from_another)
    return Article.objects.filter(with_cover | (models.Q(cover_image="") & ~models.Q(cover_list_image="")))


def remake_list_cover(article):
    """Make the lists' rendition of ``article``'s stored cover again, as store_cover makes it
    (images.make_list_cover), or clear it if the article has no cover. Returns whether the row was
    written: not when its cover was replaced meanwhile (the rendition made is deleted then).

    Only the rendition's two columns are written: the article says what it said (its updated_at
    and revisions are as they were), and cached pages show the former rendition until purged.
    Raises OSError (PIL.UnidentifiedImageError among them) or ValueError when the cover's file
    cannot be read: a database restored without its media.
    """
    cover = article.cover_image
    unchanged = Article.objects.filter(pk=article.pk, cover_image=cover.name)
    if not cover:
        return bool(unchanged.update(cover_list_image="", cover_list_source=""))
    with cover.open("rb"):
        content = make_list_cover(cover)
    field = Article._meta.get_field("cover_list_image")
    stored = field.storage.save(field.generate_filename(article, content.name), content, max_length=field.max_length)
    if unchanged.update(cover_list_image=stored, cover_list_source=cover.name):
        article.cover_list_image, article.cover_list_source = stored, cover.name
        return True
    _delete_quietly(field.storage, stored)
    return False


def _delete_quietly(storage, name):
    """Delete ``name`` if it exists; a storage too broken to delete it is logged, not raised."""
    try:
        if storage.exists(name):
            storage.delete(name)
    except OSError:
        logger.exception("could not delete the partly stored file %s", name)


def _describe_revision(user, comment):
    if user is not None:
        reversion.set_user(user)
    if comment:
        reversion.set_comment(comment)
