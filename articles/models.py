import functools
import hashlib
import re
import secrets

import reversion
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.db.models.lookups import Exact, In, LessThanOrEqual
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase

from .images import validate_cover_image
from .slugs import article_slug, pinyin_slug, unique_slug
from .validators import (
    CODE_CHARACTERS,
    MAX_INFO_CODE_LENGTH,
    MAX_STOCK_CODE_LENGTH,
    validate_info_code,
    validate_no_control_characters,
    validate_plain_text,
    validate_publication_time,
    validate_stock_code,
)

DEFAULT_CATEGORY_NAME = "未分类"
# What the slug converter of the URLs takes (django.urls.converters.SlugConverter).
URL_SLUG_REGEX = r"^[-a-zA-Z0-9_]+\Z"


def url_code(code, max_length):
    """The database's rule for a code a URL carries as it is (validators.is_url_code), so that no
    stored row, however written, lacks a URL: a list showing it would fail as a whole."""
    return Q(**{f"{code}__regex": rf"^[{CODE_CHARACTERS}]{{1,{max_length}}}\Z"}) & ~Q(**{f"{code}__in": [".", ".."]})


def remembered_reverse(viewname, **kwargs):
    """reverse(), remembered per process: a list page links (and first checks, links.py) dozens of
    articles and categories, and reverse() was a fifth of rendering one."""
    return _reverse(viewname, tuple(sorted(kwargs.items())), get_script_prefix())


@functools.lru_cache(maxsize=100_000)
def _reverse(viewname, kwargs, script_prefix):
    # NoReverseMatch is raised, never remembered: a bad row is checked afresh each time.
    return reverse(viewname, kwargs=dict(kwargs))


class Category(models.Model):
    name = models.CharField(
        "名称",
        max_length=200,
        unique=True,
        validators=[validate_plain_text],
        help_text="来源文件中的分类名，如 cailianshe。",
    )
    slug = models.SlugField(
        "网址别名", max_length=200, unique=True, help_text="网址中使用的英文别名，留空则由名称的拼音生成。"
    )
    title = models.CharField(
        "显示名称",
        max_length=200,
        blank=True,
        validators=[validate_plain_text],
        help_text="读者看到的名称，如 财联社。",
    )
    description = models.TextField("简介", blank=True, validators=[validate_no_control_characters])
    channel_position = models.PositiveSmallIntegerField(
        "频道位置",
        null=True,
        blank=True,
        help_text="填写数字即作为频道显示在每页的页头，按数字从小到大排列；留空则不显示。",
    )

    class Meta:
        verbose_name = "分类"
        verbose_name_plural = "分类"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(slug__regex=URL_SLUG_REGEX), name="category_slug_in_urls"),
        ]

    def __str__(self):
        return self.display_name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Category, self.name, max_length=200, instance_pk=self.pk)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return remembered_reverse("articles:category", slug=self.slug)

    @property
    def display_name(self):
        return self.title or self.name


class Tag(TagBase):
    """A taggit tag whose slug is pinyin, so Chinese tag names get readable ASCII URLs."""

    name = models.CharField("名称", max_length=100, unique=True, validators=[validate_plain_text])
    slug = models.SlugField("网址别名", max_length=100, unique=True, allow_unicode=False)

    class Meta:
        verbose_name = "标签"
        verbose_name_plural = "标签"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(slug__regex=URL_SLUG_REGEX), name="tag_slug_in_urls"),
        ]
        # Search looks a query up by its name, case aside (search/names.py).
        indexes = [models.Index(Upper("name"), name="tag_name_capitals")]

    def slugify(self, tag, i=None):
        slug = pinyin_slug(tag, max_length=90)
        return f"{slug}-{i}" if i is not None else slug

    def get_absolute_url(self):
        return remembered_reverse("articles:tag", slug=self.slug)


class RetiredTag(models.Model):
    """A tag merged into another or deleted (publishing.merge_tags, delete_topics): restoring a
    version that had it gives the tag it became, or names it as gone (publishing.restore_version).
    A renamed tag keeps its id, so a restore gives it under its new name."""

    tag_id = models.BigIntegerField("原标签编号", unique=True)
    name = models.CharField("名称", max_length=100)
    merged_into_id = models.BigIntegerField("并入的标签编号", null=True, blank=True)
    retired_at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = "已合并或删除的标签"
        verbose_name_plural = "已合并或删除的标签"

    def __str__(self):
        return self.name


@reversion.register()
class TaggedArticle(TaggedItemBase):
    content_object = models.ForeignKey("Article", on_delete=models.CASCADE, related_name="tagged_items")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="tagged_articles")

    class Meta:
        verbose_name = "文章标签"
        verbose_name_plural = "文章标签"
        constraints = [
            models.UniqueConstraint(fields=["content_object", "tag"], name="unique_article_tag"),
        ]

    def __str__(self):
        # Ids only: revisions record every tag of an article, and taggit's text would read each tag.
        return f"文章 {self.content_object_id} · 标签 {self.tag_id}"


class Market(models.TextChoices):
    SHANGHAI = "sh", "上海"
    SHENZHEN = "sz", "深圳"
    HONG_KONG = "hk", "香港"
    NASDAQ = "nasdaq", "纳斯达克"
    NYSE = "nyse", "纽约证券交易所"
    AMEX = "amex", "美国证券交易所"
    BOARD = "board", "板块"


# East Money's numeric market ids, as they appear in data-code attributes and quote links.
EASTMONEY_MARKET_IDS = {
    "1": Market.SHANGHAI,
    "0": Market.SHENZHEN,
    "116": Market.HONG_KONG,
    "105": Market.NASDAQ,
    "106": Market.NYSE,
    "107": Market.AMEX,
    "90": Market.BOARD,
}
MARKET_EASTMONEY_IDS = {market: market_id for market_id, market in EASTMONEY_MARKET_IDS.items()}


class StockReference(models.Model):
    code = models.CharField(
        "代码",
        max_length=MAX_STOCK_CODE_LENGTH,
        validators=[validate_stock_code],
        help_text="如 601601、02601、NIO、BRK-B、BK0493。",
    )
    market = models.CharField("市场", max_length=10, choices=Market.choices)
    name = models.CharField(
        "名称", max_length=100, blank=True, validators=[validate_plain_text], help_text="如 中国太保、蔚来、新能源。"
    )

    class Meta:
        verbose_name = "股票"
        verbose_name_plural = "股票"
        ordering = ["market", "code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "market"], name="unique_stock_code_market"),
            models.CheckConstraint(
                condition=url_code(code="code", max_length=MAX_STOCK_CODE_LENGTH), name="stock_code_in_urls"
            ),
            models.CheckConstraint(condition=Q(market__in=Market.values), name="stock_market_known"),
        ]
        # Search looks a query up by its name, case aside (search/names.py).
        indexes = [models.Index(Upper("name"), name="stock_name_capitals")]

    def __str__(self):
        label = f"{self.code}（{self.get_market_display()}）"
        return f"{self.name} {label}" if self.name else label

    def get_absolute_url(self):
        return remembered_reverse("articles:stock", market=self.market, code=self.code)

    @property
    def quote_url(self):
        """The East Money quote page of this stock or board."""
        return f"https://quote.eastmoney.com/unify/r/{MARKET_EASTMONEY_IDS[self.market]}.{self.code}"


class NotIndexed(models.Func):
    """A column that SQLite's planner may not use an index for (a unary +; plain elsewhere).

    For conditions that must not drive a query. Given two upper bounds on one column, SQLite ranges
    the index on one of them, and which one depends on the shape of the query; published()'s
    "<= now" is the loosest bound any page has, so it is kept out of the choice: an article's own
    dates, an archive's day or a related-news window then bound the index, and an old article's
    page no longer reads every newer article. Without another bound the index still gives the
    order, from the newest down.
    """

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="+%(expressions)s", **extra_context)


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """What the public may see: the one definition used by every page, feed and sitemap."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())

    def published_bounded_elsewhere(self, by_status_index=True):
        """published(), for the lists that bound the date themselves (an archive's day, an
        article's neighbours, related news): "<= now" is kept out of SQLite's index choice.

        ``by_status_index=False`` keeps the status out of it too, for queries that must be driven
        by something else (a short list of ids: see listed()).
        """
        shown = NotIndexed("published_at", output_field=models.DateTimeField())
        status = models.F("status") if by_status_index else NotIndexed("status", output_field=models.CharField())
        return self.filter(LessThanOrEqual(shown, timezone.now()), Exact(status, Article.Status.PUBLISHED))

    def tagged_in_list_order(self, tag_id):
        """Those with the tag ``tag_id``, read in the list's order and each checked for the tag:
        starting from a tag of 400,000 articles would sort them all (the admin's 标签 filter)."""
        tagged = TaggedArticle.objects.filter(tag_id=tag_id).values("content_object_id")
        return self.filter(In(NotIndexed("id", output_field=models.BigIntegerField()), tagged))

    def listed(self, among=None):
        """Public articles with what a list item shows (title, time, category, summary, and for the
        copy of a story, its lead's address), in one query.

        ``among``: the ids of the only articles wanted, a few (a list, or a query set of them: a
        sparse tag's, the stories new to a page). They are read by their keys and sorted, newest
        first, in terms no index serves: otherwise SQLite walks the date index to save the sort,
        checking each article against the list.
        """
        articles = self.published_bounded_elsewhere(by_status_index=among is None)
        if among is not None:
            newest_first = [
                NotIndexed(field, output_field=output).desc()
                for field, output in (("published_at", models.DateTimeField()), ("id", models.BigIntegerField()))
            ]
            articles = articles.filter(pk__in=among).order_by(*newest_first)
        return articles.select_related("category", "story").defer(
            *LIST_DEFERRED, *(f"story__{field}" for field in LIST_DEFERRED + ("summary",))
        )

    def stories(self):
        """One article per story: its lead (an article that is no other's copy). A lead has no
        story to read along: listed()'s join of it is dropped (it read only NULLs, and building
        it was a tenth of a list page's time)."""
        leads = self.filter(story__isnull=True)
        related = self.query.select_related
        if isinstance(related, dict) and "story" in related:
            leads = leads.select_related(None).select_related(*_related_paths(related, skip="story"))
        return leads

    def once_per_story(self, **lookup):
        """The articles matching ``lookup`` (a tag, a stock), each story once: a copy only where its
        lead does not match too (a copy may carry its own category's tag)."""
        lead_matches = Article.objects.filter(pk=models.OuterRef("story_id"), **lookup)
        return self.filter(**lookup).exclude(models.Q(story__isnull=False) & models.Exists(lead_matches))

    def under_stock(self, stock):
        """Those mentioning ``stock``, each story once (as once_per_story), newest first, read in
        order from the stock's StockListing rows: a page reads its own rows, however many articles
        mention the stock. Annotated with the list's order, ``listed_at`` and ``listed_id`` (equal
        to published_at and id: ArticlePaginator's ``order``)."""
        lead_matches = Article.objects.filter(pk=models.OuterRef("story_id"), stocks=stock)
        return (
            self.filter(stock_listings__stock=stock)
            .annotate(
                listed_at=models.F("stock_listings__published_at"), listed_id=models.F("stock_listings__article_id")
            )
            .exclude(models.Q(story__isnull=False) & models.Exists(lead_matches))
            .order_by("-listed_at", "-listed_id")
        )

    def older_than(self, published_at, pk):
        """Those before an article (``published_at``, ``pk``) in the list order, nearest first: a
        range on published_at (which the date indexes serve), less the ties on the wrong side."""
        return (
            self.filter(published_at__lte=published_at)
            .exclude(published_at=published_at, id__gte=pk)
            .order_by("-published_at", "-id")
        )

    def newer_than(self, published_at, pk):
        """Those after an article in the list order, nearest first."""
        return (
            self.filter(published_at__gte=published_at)
            .exclude(published_at=published_at, id__lte=pk)
            .order_by("published_at", "id")
        )

    def keys_new_to(self, newest, seen):
        """The keys of those new to a list that shows ``newest`` ((published_at, pk) of its newest;
        None: not known) and knows every article up to the key ``seen``: later in the list order (a
        scheduled story coming due has an older key), or written after ``seen`` (a late arrival,
        dated before ``newest``). For listed(among=…): a union of two index ranges, as an OR of
        them would make SQLite read every public article."""
        written_later = self.filter(id__gt=seen).order_by().values("id")
        if newest is None:
            return written_later
        return written_later.union(self.newer_than(*newest).order_by().values("id"))

    def scheduled(self):
        """Published articles whose time has not come yet: they appear by themselves at ``published_at``."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__gt=timezone.now())

    def pinned(self):
        """Public articles pinned to the home page now, in the desk's order: the 头条 first, then the
        要闻 by the order editors set (publishing.pin_article). A pin whose ``pinned_until`` has
        passed no longer counts (moments.pins_ending changes the home page at that time)."""
        now = timezone.now()
        # Read from the few pinned rows (the partial index article_pinned), each checked for being
        # public: driven by the public order instead, SQLite walked every published article.
        return (
            self.published_bounded_elsewhere(by_status_index=False)
            .filter(pin__isnull=False)
            .filter(Q(pinned_until__isnull=True) | Q(pinned_until__gt=now))
            .order_by("pin", "pin_order", "-published_at", "-id")
        )

    def pins_in_force(self):
        """Articles whose pin has not ended, published or not (what the limits of pin_article count)."""
        return self.filter(pin__isnull=False).filter(Q(pinned_until__isnull=True) | Q(pinned_until__gt=timezone.now()))


def new_info_code():
    """The info code of an article written in the admin: ED, the time, and a random suffix."""
    return f"ED{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}"


# Between two authors' names: 、 as written in Chinese, or a comma of either width.
AUTHOR_SEPARATORS = re.compile(r"[、,，;；]")
# What list items never show: left unread.
LIST_DEFERRED = ("body", "source_path", "source_hash")


def _related_paths(related, skip, prefix=""):
    """The select_related() names ("category", "story__category") of a query's ``related`` tree
    (Query.select_related: {name: {nested…}}), less the top-level branch ``skip``."""
    paths = []
    for name, nested in related.items():
        if prefix or name != skip:
            path = f"{prefix}{name}"
            paths += _related_paths(nested, skip, f"{path}__") if nested else [path]
    return paths


# Revisions follow the article's tags, so restoring a version restores its tags too.
@reversion.register(follow=["tagged_items"])
class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        # Submitted by a contributor (撰稿), waiting for an editor's approval (publishing.submit_for_review).
        PENDING = "pending", "待审"
        PUBLISHED = "published", "已发布"

    class Pin(models.IntegerChoices):
        # The numbers are the home page's order: the lead before the top stories.
        LEAD = 1, "头条"
        TOP = 2, "要闻"

    info_code = models.CharField(
        "资讯编号",
        max_length=MAX_INFO_CODE_LENGTH,
        unique=True,
        default=new_info_code,
        validators=[validate_info_code],
        help_text="东方财富资讯编号（来源文件名中日期后的部分），唯一标识一篇文章。",
    )
    title = models.CharField("标题", max_length=300, validators=[validate_plain_text])
    slug = models.SlugField("网址别名", max_length=100, blank=True, help_text="留空则由标题的拼音生成。")
    summary = models.TextField(
        "摘要",
        blank=True,
        validators=[validate_no_control_characters],
        help_text="纯文本，显示在正文之上，也用作搜索引擎描述。",
    )
    body = models.TextField("正文", blank=True, help_text="保存时按白名单清理 HTML。")
    category = models.ForeignKey(Category, verbose_name="分类", on_delete=models.PROTECT, related_name="articles")
    tags = TaggableManager(
        "标签", through=TaggedArticle, blank=True, help_text="用逗号、顿号或分号分隔；空格属于标签本身。"
    )
    stocks = models.ManyToManyField(StockReference, verbose_name="相关股票", blank=True, related_name="articles")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        "发布时间",
        default=timezone.now,
        validators=[validate_publication_time],
        help_text="晚于当前时间即为定时发布；须在 1990-01-01 到 2100-12-31 之间。",
    )
    source_url = models.URLField("原文链接", max_length=500, blank=True)
    source_name = models.CharField(
        "来源",
        max_length=100,
        blank=True,
        db_index=True,
        validators=[validate_no_control_characters],
        help_text="如 财联社。",
    )
    cover_image = models.ImageField(
        "封面图",
        upload_to="covers/%Y/%m/",
        blank=True,
        validators=[validate_cover_image],
        help_text="JPEG、PNG、GIF 或 WebP，不超过 10 MB。",
    )
    cover_thumbnail = models.ImageField("封面缩略图", upload_to="covers/thumbnails/%Y/%m/", blank=True, editable=False)
    # The lists' (images.make_list_cover); empty for a cover stored before it was made, which lists
    # then show from its thumbnail. Empty by the database's default too: the release before it,
    # which knows nothing of the column, still adds articles (its import, between migrate and the
    # restart; after going back to it).
    cover_list_image = models.ImageField(
        "列表封面小图", upload_to="covers/thumbnails/%Y/%m/", blank=True, editable=False, default="", db_default=""
    )
    # The name of the cover it was made from. A release that knows neither column (before 0023 and
    # 0026) replaces a cover and leaves both as they were: they no longer name the cover, and
    # check_content finds the rendition. Empty for one made before 0026: not known to be current.
    cover_list_source = models.CharField(
        "列表封面小图的来源", max_length=100, blank=True, editable=False, default="", db_default=""
    )

    source_path = models.CharField("来源文件", max_length=1000, blank=True, editable=False)
    source_hash = models.CharField("来源文件哈希", max_length=64, blank=True, editable=False)
    story = models.ForeignKey(
        "self",
        verbose_name="同一新闻",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
        help_text="这篇是哪篇文章的另一份（同一东方财富资讯出现在另一个分类）：读者只看到那一篇的页面，各分类仍列出它。",
    )
    edited_since_import = models.BooleanField(
        "导入后经编辑修改", default=False, help_text="已修改的文章不会被再次导入覆盖（除非使用 --force）。"
    )
    review_note = models.TextField("退回意见", blank=True, help_text="编辑退回稿件时写给作者的话；再次提交审核时清空。")
    authors = models.CharField(
        "作者",
        max_length=200,
        blank=True,
        validators=[validate_plain_text],
        help_text="多位作者用顿号分隔。留空：编辑写的文章为写它的编辑，导入的文章为来源。",
    )
    responsible_editor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="责任编辑",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="发布这篇文章的编辑（发布时自动填写）。",
    )
    # The desk's pins (publishing.pin_article): not the article's content, so a restore keeps them.
    pin = models.PositiveSmallIntegerField("置顶", choices=Pin.choices, null=True, blank=True)
    pin_order = models.PositiveSmallIntegerField("置顶顺序", default=0, help_text="要闻按此从小到大排列。")
    pinned_until = models.DateTimeField("置顶截止", null=True, blank=True, help_text="留空则一直置顶，直到取消。")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    content_changed_at = models.DateTimeField(
        "内容修改时间",
        null=True,
        blank=True,
        editable=False,
        help_text="标题、摘要、正文或封面最后一次改变的时间；从未改变则为空（以发布时间为准）。",
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        verbose_name = "文章"
        verbose_name_plural = "文章"
        ordering = ["-published_at", "-id"]
        get_latest_by = "published_at"
        permissions = [
            ("publish_article", "可以发布和撤回文章"),
            # Without it (撰稿, contributors), only drafts and articles waiting for review may be changed.
            ("change_published_article", "可以修改已发布的文章"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=url_code(code="info_code", max_length=MAX_INFO_CODE_LENGTH), name="article_info_code_in_urls"
            ),
            # Blank: the article's page is /news/<info code>/.
            models.CheckConstraint(condition=Q(slug="") | Q(slug__regex=URL_SLUG_REGEX), name="article_slug_in_urls"),
            # One 头条: pinning another replaces it (publishing.pin_article), and two desks racing
            # cannot both win.
            models.UniqueConstraint(fields=["pin"], condition=Q(pin=1), name="one_lead_article"),
            models.CheckConstraint(condition=Q(pin__isnull=True) | Q(pin__in=[1, 2]), name="article_pin_known"),
        ]
        indexes = [
            # Public lists: published articles, newest first, of the site or of one category.
            models.Index(fields=["status", "-published_at", "-id"], name="article_public_order"),
            models.Index(fields=["category", "status", "-published_at", "-id"], name="article_category_order"),
            # One article per story (the archive, the sitemap): their counts and deep pages' first
            # rows are read from this index alone, not from each article's row (its story).
            models.Index(
                fields=["status", "-published_at", "-id"], condition=Q(story__isnull=True), name="article_story_order"
            ),
            # The admin's lists, all statuses together: without these, every article is sorted.
            models.Index(fields=["-published_at", "-id"], name="article_newest_first"),
            models.Index(fields=["category", "-published_at", "-id"], name="article_category_newest"),
            # The few pinned rows (the home page's lead, the ends of pins): never a scan of every article.
            models.Index(fields=["pin", "pin_order"], condition=Q(pin__isnull=False), name="article_pinned"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.give_slug()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        """The page of its story: a copy's is its lead's (both info codes lead there)."""
        target = self.lead or self
        if not target.slug:
            return remembered_reverse("articles:article-short", info_code=target.info_code)
        return remembered_reverse("articles:article", info_code=target.info_code, slug=target.slug)

    @property
    def lead(self):
        """The lead of its story, or None: it is no copy, or its lead's row is gone, deleted around
        the foreign key (sqlite3's shell checks none unless told to): then it is a story of its own.
        Read once, found or not: a template asks for it several times.

        A story that is the article itself or another copy (no save makes one: clean(); SQL can)
        is no lead either: each page of such a ring redirected to the next for ever. check_content
        lists them for an editor."""
        if self.story_id is None or self.story_id == self.pk:
            return None
        try:
            story = self.story
        except Article.DoesNotExist:
            # Remembered as select_related("story") leaves a lead whose row is gone; story_id stays
            # until publishing.save_article clears it (_drop_links_to_rows_gone; Django's own save
            # alone writes it back), and setting another forgets this as it forgets a lead found.
            self._meta.get_field("story").set_cached_value(self, None)
            return None
        return story if story is not None and story.story_id is None else None

    def give_slug(self):
        """Give an article saved without a slug the one of its title. Called by save(), and by
        publishing for the new articles whose rows it inserts without save()."""
        if not self.slug:
            self.slug = article_slug(self.title)

    @property
    def author_names(self):
        """作者 as readers see them (a list): the names typed, filled in with the editor who wrote
        it (publishing.save_article); for an imported post, none (its source is its author)."""
        return [name.strip() for name in AUTHOR_SEPARATORS.split(self.authors) if name.strip()]

    def clean(self):
        if self.story_id is not None:
            if self.story_id == self.pk:
                raise ValidationError({"story": "文章不能是它自己的另一份。"})
            if self.story.story_id is not None:
                raise ValidationError({"story": f"“{self.story}”本身是另一篇的副本：请选那一篇。"})
            if self.pk is not None and self.copies.exists():
                raise ValidationError({"story": "这篇文章有自己的副本：请先拆分它们。"})

    @property
    def content_modified_at(self):
        """When what the article says last changed (its title, summary, body or cover): the
        publication time, or a later change of them (JSON-LD dateModified; never the time of an
        import that changed nothing a reader reads)."""
        return content_modified_at(self.published_at, self.content_changed_at)


def content_modified_at(published_at, content_changed_at):
    """Article.content_modified_at of an article's two times (aware datetimes;
    ``content_changed_at`` None: never changed), for lists that read them as values (the sitemap)."""
    return max(published_at, content_changed_at or published_at)


class StockListing(models.Model):
    """An article as its stock's list shows it: one row for each stock an article mentions
    (Article.stocks), with the article's publication time. Written only by publishing, beside
    Article.stocks, and rewritten when the time moves (publishing._list_under_stocks).

    Why a copy of the time: a stock's page, newest first, is then read in order from this table's
    index, its first twenty rows and no more. Read from the mentions, a stock in 561 of a million
    articles had all 561 fetched and sorted for each page (2.2 times the page at 10,000 articles).
    """

    # No index of its own: the two below start with it.
    stock = models.ForeignKey(
        StockReference, verbose_name="股票", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    article = models.ForeignKey("Article", verbose_name="文章", on_delete=models.CASCADE, related_name="stock_listings")
    published_at = models.DateTimeField("发布时间")

    class Meta:
        verbose_name = "股票的文章列表"
        verbose_name_plural = "股票的文章列表"
        constraints = [models.UniqueConstraint(fields=["stock", "article"], name="unique_stock_listing")]
        indexes = [models.Index(fields=["stock", "-published_at", "-article"], name="stock_listing_order")]

    def __str__(self):
        return f"股票 {self.stock_id} · 文章 {self.article_id}"


class ImportRun(models.Model):
    """One run of import_posts (or one cycle of --watch that did something): when, from where, how it went."""

    class Source(models.TextChoices):
        COMMAND = "command", "命令（cron 等）"
        WATCH = "watch", "持续导入（--watch）"
        API = "api", "接口"

    class Result(models.TextChoices):
        RUNNING = "running", "进行中"
        OK = "ok", "全部成功"
        CONFLICTS = "conflicts", "有冲突"
        REJECTIONS = "rejections", "有被拒文件"
        CHANGES = "changes", "导入时有改动"

    started_at = models.DateTimeField("开始时间", default=timezone.now)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    source_name = models.CharField("来源说明", max_length=300, blank=True, help_text="导入的路径，或接口令牌的名称。")
    result = models.CharField("结果", max_length=10, choices=Result.choices, default=Result.RUNNING)
    created = models.PositiveIntegerField("新建", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("未变", default=0)
    conflict = models.PositiveIntegerField("冲突", default=0)
    rejected = models.PositiveIntegerField("被拒", default=0)

    class Meta:
        verbose_name = "导入记录"
        verbose_name_plural = "导入记录"
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        indexes = [
            models.Index(fields=["-started_at", "-id"], name="import_run_newest_first"),
            models.Index(fields=["result", "-started_at"], name="import_run_result"),
            models.Index(fields=["-finished_at"], name="import_run_finished"),
        ]

    def __str__(self):
        return f"{self.get_source_display()} {timezone.localtime(self.started_at):%Y-%m-%d %H:%M:%S}"


class ImportProblem(models.Model):
    """A file that a run rejected, or did not write because an editor changed its article; or one
    thing the run changed in, or left out of, a file it took (a row for each, its article linked)."""

    class Outcome(models.TextChoices):
        CONFLICT = "conflict", "冲突"
        REJECTED = "rejected", "被拒"
        CHANGED = "changed", "已导入，有改动"

    run = models.ForeignKey(ImportRun, verbose_name="导入记录", on_delete=models.CASCADE, related_name="problems")
    path = models.CharField("文件", max_length=1000)
    info_code = models.CharField("资讯编号", max_length=MAX_INFO_CODE_LENGTH, blank=True, db_index=True)
    outcome = models.CharField("情况", max_length=10, choices=Outcome.choices)
    reason = models.TextField("原因")
    article = models.ForeignKey(
        Article, verbose_name="文章", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "导入问题"
        verbose_name_plural = "导入问题"
        ordering = ["run", "id"]

    def __str__(self):
        return f"{self.get_outcome_display()}：{self.path}"


class ImportTotal(models.Model):
    """Files imported since the site began, per outcome: the import counter of /metrics, which must
    never go down (runs are pruned)."""

    outcome = models.CharField(max_length=10, unique=True)
    files = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "导入累计"
        verbose_name_plural = "导入累计"

    def __str__(self):
        return f"{self.outcome}: {self.files}"


class IngestTokenQuerySet(models.QuerySet):
    def create_token(self, name):
        """A new token named ``name``: returns (token, secret); only the secret's hash is kept."""
        secret = f"fn_{secrets.token_urlsafe(32)}"
        token = self.model(name=name, key_hash=IngestToken.hash_of(secret))
        token.full_clean()
        token.save()
        return token, secret

    def authenticated(self, secret):
        """The active token whose secret is ``secret``, or None."""
        return self.filter(key_hash=IngestToken.hash_of(secret), revoked_at__isnull=True).first()


class IngestToken(models.Model):
    """A credential of a program that pushes posts to /api/v1/posts/ (the scraper)."""

    name = models.CharField(
        "名称",
        max_length=100,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", "名称只能由英文字母、数字、_ 和 - 组成。")],
        help_text="如 scraper。日志和导入记录里用它指这个令牌。",
    )
    key_hash = models.CharField("密钥哈希", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最后使用", null=True, blank=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)

    objects = IngestTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "推送令牌"
        verbose_name_plural = "推送令牌"
        ordering = ["name"]

    def __str__(self):
        return self.name

    @staticmethod
    def hash_of(secret):
        # Secrets are 256 random bits: a plain hash cannot be reversed, and a lookup by it is exact.
        return hashlib.sha256(secret.encode()).hexdigest()


# The table linking tags and stocks to their articles: (model, its topic column, its article column).
_TOPIC_LINKS = {
    Tag: (TaggedArticle, "tag", "content_object_id"),
    StockReference: (Article.stocks.through, "stockreference", "article_id"),
}


def with_public_articles(topics):
    """The categories, tags or stocks of ``topics`` (a queryset) that some public article is listed
    under: only they have pages, so a name used only by drafts is never shown."""
    if topics.model is Category:
        return topics.filter(models.Exists(Article.objects.published().filter(category=models.OuterRef("pk"))))
    # Read from the topic's own links, each checked by its article's key: from the articles' side,
    # a tag or stock last used long ago would be looked for through every newer article.
    link, topic_column, article_column = _TOPIC_LINKS[topics.model]
    public = Article.objects.published().filter(pk=models.OuterRef(article_column))
    links = link.objects.filter(**{topic_column: models.OuterRef("pk")}).filter(models.Exists(public))
    return topics.filter(models.Exists(links))
