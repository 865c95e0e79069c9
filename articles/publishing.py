"""Every write of what readers see goes through here: the import, the admin, its actions, restores.

Each function validates (the model's rules), checks the user's permissions (``user=None`` is the
system itself: the import and management commands), writes inside one transaction and, for
articles, one revision that holds the article with its tags and stocks, and tells the cache once
the transaction commits. Callers stay thin: a ModelAdmin or a command only gathers its input.
"""

import dataclasses

import reversion
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from .caching import content_changed, keys
from .images import make_thumbnail, reencode_cover
from .models import Article, Tag, TaggedArticle
from .sanitize import sanitize_html
from .validators import validate_plain_text

PUBLISH_PERMISSION = "articles.publish_article"
NO_PUBLISH_PERMISSION = "你没有发布权限：不能发布或撤回文章，也不能修改已发布文章的发布时间。"


def _revision():
    """A revision (or a part of the caller's) that records only what is added to it explicitly: once
    each object's tags and stocks are set, not at every row saved on the way."""
    return reversion.create_revision(manage_manually=True, atomic=False)


def may_publish(user):
    return user is None or user.has_perm(PUBLISH_PERMISSION)


def save_article(article, *, user=None, tags=None, stocks=None, edited=True, comment=""):
    """Validate and save ``article`` whole, with its ``tags`` (names or Tags) and ``stocks``.

    ``None`` leaves tags or stocks as they are. ``edited`` marks the article as changed by an
    editor, so that a later import of its file does not overwrite it. A new cover image is
    re-encoded and given a thumbnail. Raises ValidationError or PermissionDenied, writing nothing.
    """
    is_new = article.pk is None
    _require(user, "articles.add_article" if is_new else "articles.change_article")
    with transaction.atomic(), _revision():
        if user is not None:
            stored = None if is_new else Article.objects.select_for_update().filter(pk=article.pk).first()
            _check_publishing_fields(user, article, stored)
        before = [] if is_new else keys.stored_states([article.pk])
        tag_objects = None if tags is None else _tag_objects(tags)
        # Whoever sends it (the import and the admin have cleaned it already: the allow-list is
        # idempotent), a body is stored only as the allow-list leaves it; pages show it as it is.
        article.body = _sanitized_body(article.body)
        article.edited_since_import = edited
        # Uniqueness is left to the database's constraints, which also settle two writers racing
        # (the import retries on IntegrityError); the admin's forms check it first for their message.
        article.full_clean(validate_unique=False, validate_constraints=False)
        _prepare_cover(article)
        article.save()
        if tag_objects is not None:
            _set_tags(article, tag_objects, is_new)
        if stocks is not None and is_new:
            article.stocks.add(*stocks)  # a new article has none: nothing to read back first
        elif stocks is not None:
            article.stocks.set(stocks)
        # Recorded now that its tags and stocks are set: the revision's copy must include them.
        reversion.add_to_revision(article)
        _describe_revision(user, comment)
        tag_ids = {tag.pk for tag in tag_objects} if tag_objects is not None else _ids(before, "tag_ids")
        stock_ids = (
            {getattr(stock, "pk", stock) for stock in stocks} if stocks is not None else _ids(before, "stock_ids")
        )
        content_changed(keys.article_change(before, [keys.ArticleState.of(article, tag_ids, stock_ids)]))
    return article


class ChangedSinceSeen(ValidationError):
    """The stored article is no longer the version an editor's form was opened on."""

    def __init__(self, stored_at):
        super().__init__(
            "这篇文章在您打开之后已被修改（%(when)s，可能是其他编辑或导入）。您的修改尚未保存：再次保存会"
            "覆盖那次修改；也可以先在新窗口打开这篇文章，对照最新版本。",
            code="changed_since_seen",
            params={"when": timezone.localtime(stored_at).strftime("%Y-%m-%d %H:%M:%S")},
        )
        self.stored_at = stored_at


def check_unchanged_since(article_pk, seen_at):
    """Raise ChangedSinceSeen unless the stored article was last saved at ``seen_at`` (when the
    editor's form was opened): another editor's save or an import in between would otherwise be
    silently overwritten. The row stays locked until the caller's transaction ends, so nothing
    can be saved between this check and the caller's save (the admin's views are one transaction)."""
    stored_at = Article.objects.select_for_update().filter(pk=article_pk).values_list("updated_at", flat=True).first()
    if stored_at is not None and stored_at != seen_at:
        raise ChangedSinceSeen(stored_at)


def _sanitized_body(body):
    """``body`` as the allow-list leaves it; one it refuses (nested too deep) is the body's error."""
    try:
        return sanitize_html(body)
    except ValidationError as error:
        raise ValidationError({"body": error.error_list}) from None


def _ids(states, field):
    return getattr(states[0], field) if states else set()


def set_status(articles, status, *, user=None, comment=""):
    """Publish or withdraw ``articles`` (a queryset), each saved as an edit; returns how many changed."""
    if not may_publish(user):
        raise PermissionDenied(NO_PUBLISH_PERMISSION)
    with transaction.atomic(), _revision():
        changed = list(articles.exclude(status=status))
        before = keys.stored_states(article.pk for article in changed)
        for article in changed:
            article.status = status
            article.edited_since_import = True
            article.save()
            reversion.add_to_revision(article)
        _describe_revision(user, comment)
        published = status == Article.Status.PUBLISHED
        content_changed(
            keys.article_change(before, [dataclasses.replace(state, published=published) for state in before])
        )
    return len(changed)


def join_story(article, lead, *, user=None):
    """Make ``article`` (and any copies it had) a copy of the story that ``lead`` leads."""
    _require(user, "articles.change_article")
    with transaction.atomic(), _revision():
        joining = [*article.copies.all(), article]
        before = keys.stored_states(copy.pk for copy in joining)
        for copy in joining:
            copy.story = lead
            copy.full_clean(validate_unique=False, validate_constraints=False)
            copy.save(update_fields=["story", "updated_at"])
            reversion.add_to_revision(copy)
        _describe_revision(user, f"并入“{lead.title}”（同一新闻）")
        content_changed(keys.article_change(before, [dataclasses.replace(state, story_id=lead.pk) for state in before]))


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
            article.save(update_fields=["story", "updated_at"])
            reversion.add_to_revision(article)
        _describe_revision(user, "拆分同一新闻")
        content_changed(keys.article_change(before, [dataclasses.replace(state, story_id=None) for state in before]))
    return len(changed)


def delete_articles(articles, *, user=None):
    _require(user, "articles.delete_article")
    with transaction.atomic():
        before = keys.stored_states(articles.values_list("pk", flat=True))
        articles.delete()
        content_changed(keys.article_change(before))


def merge_tags(kept, merged, *, user=None):
    """Give every article of the ``merged`` tags the ``kept`` tag instead, then delete ``merged``.

    Each article touched is recorded in the revision, with its tags as they are after the merge.
    """
    _require(user, "articles.change_tag")
    _require(user, "articles.delete_tag")
    merged_ids = [tag.pk for tag in merged if tag.pk != kept.pk]
    with transaction.atomic(), _revision():
        article_ids = set(
            TaggedArticle.objects.filter(tag_id__in=merged_ids).values_list("content_object_id", flat=True)
        )
        already_tagged = set(
            TaggedArticle.objects.filter(tag=kept, content_object_id__in=article_ids).values_list(
                "content_object_id", flat=True
            )
        )
        TaggedArticle.objects.bulk_create(
            [TaggedArticle(tag=kept, content_object_id=article_id) for article_id in article_ids - already_tagged]
        )
        Tag.objects.filter(pk__in=merged_ids).delete()
        # Pages showing a merged tag hold its key; an article near one now given the kept tag may
        # list it as related news.
        affected = {keys.tag(kept.pk), keys.tag_list(kept.pk), keys.SITE}
        affected.update(key for pk in merged_ids for key in (keys.tag(pk), keys.tag_list(pk)))
        for article in Article.objects.filter(pk__in=article_ids).iterator():
            reversion.add_to_revision(article)
            affected.update(keys.entering_related(article.published_at, [kept.pk], []))
        _describe_revision(user, f"合并标签到“{kept.name}”")
        content_changed(affected)


def save_topic(topic, *, user=None):
    """Validate and save a category, tag or stock: what articles are listed under."""
    _require(user, f"articles.{'add' if topic.pk is None else 'change'}_{topic._meta.model_name}")
    # A slug left empty is made from the name when the topic is saved.
    made_on_save = ["slug"] if hasattr(topic, "slug") and not topic.slug else []
    with transaction.atomic():
        topic.full_clean(exclude=made_on_save, validate_unique=False, validate_constraints=False)
        topic.save()
        content_changed(keys.topic_change(topic))
    return topic


def delete_topics(topics, *, user=None):
    """Delete categories, tags or stocks (a queryset); a category that still has articles is protected."""
    _require(user, f"articles.delete_{topics.model._meta.model_name}")
    with transaction.atomic():
        content_changed(set().union(*(keys.topic_change(topic) for topic in topics)))
        topics.delete()


def _require(user, permission):
    if user is not None and not user.has_perm(permission):
        raise PermissionDenied(f"你没有这项权限（{permission}）。")


def _check_publishing_fields(user, article, stored):
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


def _tag_objects(tags):
    """Tags for ``tags``: Tag objects, or names (checked here) of tags found case-insensitively, as
    taggit does, or created."""
    names = [tag for tag in tags if isinstance(tag, str)]
    errors = []
    for name in names:
        try:
            validate_plain_text(name)
        except ValidationError as error:
            errors.extend(error.messages)
        if len(name) > Tag._meta.get_field("name").max_length:
            errors.append(f"标签“{name[:20]}…”太长了，最多 {Tag._meta.get_field('name').max_length} 个字。")
    if errors:
        raise ValidationError({"tags": errors})
    return [
        tag if isinstance(tag, Tag) else Tag.objects.filter(name__iexact=tag).first() or save_topic(Tag(name=tag))
        for tag in tags
    ]


def _set_tags(article, tags, is_new):
    """The article's tags become exactly ``tags``, by the difference with what it has.

    Not taggit's manager: its set() costs four queries a tag, and the import writes thousands of
    articles (bench/). Nothing listens to taggit's signals here; the revision is recorded after.
    """
    wanted = {tag.pk for tag in tags}
    current = set() if is_new else set(article.tagged_items.values_list("tag_id", flat=True))
    if current - wanted:
        article.tagged_items.filter(tag_id__in=current - wanted).delete()
    TaggedArticle.objects.bulk_create(
        [TaggedArticle(content_object=article, tag_id=tag_id) for tag_id in wanted - current]
    )


def _prepare_cover(article):
    """A newly uploaded cover is stored re-encoded (pixels only), with a thumbnail; a removed one loses its thumbnail."""
    cover = article.cover_image
    if cover and not cover._committed:
        reencoded = reencode_cover(cover)
        cover.save(reencoded.name, reencoded, save=False)
        article.cover_thumbnail = make_thumbnail(reencoded)
    elif not cover:
        article.cover_thumbnail = ""


def _describe_revision(user, comment):
    if user is not None:
        reversion.set_user(user)
    if comment:
        reversion.set_comment(comment)
