"""The newsroom desk in the admin (issue 25): what ArticleAdmin adds to a blog's admin, kept apart
from the form's own fields so that each part can change on its own.

- Pins (头条, 要闻): a fieldset on the form, a list column and actions, all written through
  publishing.pin_article / unpin_article.
- Review and the publishing buttons: 发布, 定时发布, 撤回 for editors, 提交审核 for contributors
  (撰稿), 退回修改 with a note for what waits for review; the status filter with 待审 and 定时发布.
  publishing checks every step again: a button a user should not have does nothing for them.
- Who is editing: the form's heartbeat (articles/presence.py) and the notice naming the others.
- 历史 compares two versions side by side (django-reversion-compare's history and compare page,
  showing articles/versions.py's rows) before a restore.
"""

import contextlib
import datetime as dt

import reversion
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from . import presence, publishing, versions
from .models import Article

# The buttons of the article form (templates/admin/articles/article/submit_line.html).
PUBLISH, SCHEDULE, WITHDRAW, SUBMIT, RETURN = "_publish", "_schedule", "_withdraw", "_submit", "_return"

PIN_FIELDSET = (
    "首页置顶",
    {
        "fields": list(publishing.PIN_FIELDS),
        "description": "头条只有一篇（新设的头条替换原来的）；要闻最多五篇，按顺序从小到大。"
        "到了截止时间，文章自动回到最新列表。",
    },
)


# The form as a newsroom writes: the story first (title, summary, body), then where it is filed,
# then publishing; the technical fields folded away.
ARTICLE_FIELDSETS = [
    (None, {"fields": ["title", "summary", "body", "seen_updated_at"], "classes": ["desk-story"]}),
    ("分类、标签与股票", {"fields": ["category", "tags", "stocks"]}),
    ("封面", {"fields": ["cover_image", "cover_preview"]}),
    (
        "发布",
        {
            "fields": ["status", "published_at", "authors", "responsible_editor_name"],
            "description": "“已发布”且发布时间晚于现在的文章会在那个时间自动出现（定时发布）。",
        },
    ),
    ("来源", {"fields": ["source_name", "source_url"]}),
    PIN_FIELDSET,
    ("编号与网址", {"classes": ["collapse"], "fields": ["info_code", "slug", "story"]}),
    (
        "导入信息",
        {
            "classes": ["collapse"],
            "fields": ["edited_since_import", "source_path", "source_hash", "created_at", "updated_at"],
        },
    ),
]


class PinFormMixin:
    """Checks a changed pin as publishing.pin_article will (an end in the past, a sixth 要闻), so
    that the editor reads the reason beside the field rather than after the save."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "pin" in self.fields:
            self.fields["pin"].choices = [("", "不置顶"), *Article.Pin.choices]
        for name in publishing.PIN_FIELDS:
            if name in self.fields:
                # Changed is what the editor changed on the form, not what differs from the stored
                # pin: a 要闻 set from the list while the form was open made the conflict's "save
                # again" unpin it, the form sending back the pin as it was opened.
                self.fields[name].show_hidden_initial = True

    def clean(self):
        cleaned_data = super().clean()
        if self.pin_changed() and cleaned_data.get("pin"):
            try:
                publishing.check_pin(self.instance.pk, cleaned_data["pin"], cleaned_data.get("pinned_until"))
            except ValidationError as error:
                for field, errors in error.error_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return cleaned_data

    def pin_changed(self):
        """Whether the pin fieldset asks for something new (not an order typed with no pin)."""
        if not self.initial.get("pin") and not self.cleaned_data.get("pin"):
            return False
        return any(field in self.changed_data for field in publishing.PIN_FIELDS)

    def changed_besides_pin(self):
        """Whether the save changes the article itself, not only its pin (the hidden
        seen_updated_at is the form's, not the article's)."""
        return any(field not in (*publishing.PIN_FIELDS, "seen_updated_at") for field in self.changed_data)


class PinAdminMixin:
    """ArticleAdmin's pins: the fieldset's values are saved by pin_article after the article."""

    @admin.display(description="置顶", ordering="pin")
    def pin_state(self, article):
        if article.pin is None:
            return ""
        label = article.get_pin_display()
        if article.pin == Article.Pin.TOP:
            label = f"{label} {article.pin_order}"
        if article.pinned_until is None:
            return label
        # Its term on a line of its own: the list's columns fit a laptop (desk.css).
        if article.pinned_until <= timezone.now():
            return format_html("{}<br>已到期", label)
        return format_html("{}<br>至 {}", label, f"{timezone.localtime(article.pinned_until):%m-%d %H:%M}")

    def save_pin(self, request, article, form):
        """Pin or unpin ``article`` as the form's pin fieldset says, if it was changed there. When
        nothing else was, the pin's message is the save's only one (ReviewAdminMixin.said_it)."""
        if not form.pin_changed():
            return
        pin = form.cleaned_data.get("pin")
        if pin:
            until = form.cleaned_data.get("pinned_until")
            changed = publishing.pin_article(
                article, kind=pin, order=form.cleaned_data.get("pin_order"), until=until, user=request.user
            )
            self.message_user(request, _pinned_message(article, pin, until, replaced=changed[1:]), messages.SUCCESS)
        else:
            publishing.unpin_article(article, user=request.user)
            self.message_user(request, f"“{article.title}”已取消置顶。", messages.SUCCESS)
        if not form.changed_besides_pin():
            self.said_it(request)

    def pin_readonly_fields(self, request):
        """The pin fields, shown as text to whoever may not publish (pin_article would refuse them)."""
        return [] if publishing.may_publish(request.user) else list(publishing.PIN_FIELDS)

    @admin.action(description="设为头条（替换当前头条）", permissions=["publish"])
    def pin_as_lead(self, request, queryset):
        articles = list(queryset[:2])
        if len(articles) != 1:
            self.message_user(request, "头条只有一篇：请只选一篇文章。", messages.WARNING)
            return
        self._pin(request, articles, Article.Pin.LEAD)

    @admin.action(description="设为要闻", permissions=["publish"])
    def pin_as_top_story(self, request, queryset):
        self._pin(request, list(queryset.order_by("-published_at", "-id")), Article.Pin.TOP)

    @admin.action(description="取消置顶", permissions=["publish"])
    def unpin(self, request, queryset):
        count = sum(
            publishing.unpin_article(article, user=request.user) for article in queryset.filter(pin__isnull=False)
        )
        report_action(
            self,
            request,
            f"已取消 {count} 篇文章的置顶，它们回到最新列表",
            changed=count,
            selected=queryset.count(),
            untouched="没有置顶",
        )

    def _pin(self, request, articles, kind):
        for article in articles:
            try:
                changed = publishing.pin_article(article, kind=kind, user=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, f"“{article.title}”未能置顶：{' '.join(_messages(error))}", messages.ERROR)
                return
            self.message_user(request, _pinned_message(article, kind, None, replaced=changed[1:]), messages.SUCCESS)


def still_pinned(*pins):
    """What to tell of withdrawn articles still pinned (``pins``: theirs, None for none): a pin
    outlives a withdrawal, and the article would be 头条 or 要闻 again the moment it is republished.
    A sentence, or "" when none is pinned."""
    kept = [Article.Pin(pin).label for pin in pins if pin is not None]
    if not kept:
        return ""
    which = f"它仍是{kept[0]}" if len(pins) == 1 else f"其中 {len(kept)} 篇仍置顶"
    return f"{which}：再次发布就会回到首页，不需要时请“取消置顶”。"


def copies_left_behind(lead_ids):
    """What to tell of withdrawn articles (``lead_ids``) that published copies name as their story:
    a copy's address leads to its story's page, and lists show a story by its lead, so readers
    lose the copies with the lead. Said, not prevented: a retraction must not wait. A sentence, or
    "" when no published copy names them."""
    copies = Article.objects.published().filter(story_id__in=lead_ids)
    found = copies.aggregate(count=Count("pk"), leads=Count("story_id", distinct=True))
    if not found["count"]:
        return ""
    # As still_pinned: "它" for the one article withdrawn, not for several.
    which = "它" if len(lead_ids) == 1 else f"撤回的其中 {found['leads']} 篇"
    where = "撤回的这篇" if len(lead_ids) == 1 else "撤回的文章"
    return (
        f"另有 {found['count']} 篇已发布的文章与{which}是同一新闻：它们的地址转到{where}，也不在列表里；"
        "要让读者还能看到它们，请先对它们“拆分同一新闻”。"
    )


def report_action(model_admin, request, done, *, changed, selected, untouched):
    """Tell the editor what a list action did: ``done`` (its message) for the ``changed`` articles,
    and of the ``selected`` others that ``untouched`` says why it left them. "已发布 0 篇文章" alone,
    in green, read as a success when every one chosen was left as it was."""
    if changed == 0:
        model_admin.message_user(request, f"所选的 {selected} 篇文章{untouched}，没有改动。", messages.WARNING)
        return
    left = f"；另外 {selected - changed} 篇{untouched}，没有改动" if selected > changed else ""
    model_admin.message_user(request, f"{done}{left}。", messages.SUCCESS)


def _pinned_message(article, kind, until, replaced=()):
    """What the editor is told of a pin: until when, whether readers see it yet, which 头条 it replaced."""
    ends = f"，至 {timezone.localtime(until):%Y-%m-%d %H:%M} 自动取消" if until else ""
    shown = "" if Article.objects.published().filter(pk=article.pk).exists() else "（发布后才会出现在首页）"
    before = "".join(f"；原头条“{old.title}”已取消置顶" for old in replaced)
    return f"“{article.title}”已设为{Article.Pin(kind).label}{ends}{shown}{before}。"


def _messages(error):
    return error.messages if isinstance(error, ValidationError) else [str(error)]


class ReviewFormMixin:
    """The form's side of its buttons: a time to come for 定时发布, a note to return a draft with."""

    def clean(self):
        cleaned_data = super().clean()
        published_at = cleaned_data.get("published_at")
        if SCHEDULE in self.data and published_at is not None and published_at <= timezone.now():
            self.add_error("published_at", "定时发布的时间必须晚于现在：请改一个将来的时间，或直接点“发布”。")
        if RETURN in self.data and not self.data.get("return_note", "").strip():
            self.add_error(None, "退回时请在“退回意见”里写明要修改什么。")
        # The stored status (the instance takes the form's values only after clean()).
        stored = self.instance.status if self.instance.pk is not None else Article.Status.DRAFT
        if SUBMIT in self.data and stored != Article.Status.DRAFT:
            self.add_error(None, f"只有草稿可以提交审核（这篇文章现在是“{self.instance.get_status_display()}”）。")
        if RETURN in self.data and stored != Article.Status.PENDING:
            self.add_error(None, f"只有待审的稿件可以退回（这篇文章现在是“{self.instance.get_status_display()}”）。")
        return cleaned_data


class StatusFilter(admin.SimpleListFilter):
    """状态, as the desk speaks of it: 定时发布 apart from what readers see now."""

    title = "状态"
    parameter_name = "state"
    STATES = {
        "draft": ("草稿", lambda articles: articles.filter(status=Article.Status.DRAFT)),
        "pending": ("待审", lambda articles: articles.filter(status=Article.Status.PENDING)),
        "scheduled": ("定时发布", lambda articles: articles.scheduled()),
        "published": ("已发布", lambda articles: articles.published()),
    }

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in self.STATES.items()]

    def queryset(self, request, queryset):
        state = self.STATES.get(self.value())
        return state[1](queryset) if state else queryset


class ReviewAdminMixin:
    """ArticleAdmin's buttons and review: which buttons a user gets, and what each does around
    publishing.save_article (the status it asks for; submit and return after the save)."""

    # reversion's list (its 恢复 link) with the desk's stylesheet.
    change_list_template = "admin/articles/article/desk_change_list.html"

    def desk_buttons(self, request, article):
        """The buttons shown under the form, by what the article is and what the user may do."""
        status = article.status if article is not None else Article.Status.DRAFT
        if not publishing.may_publish(request.user):
            return {"submit": status == Article.Status.DRAFT}
        unpublished = status != Article.Status.PUBLISHED
        # A scheduled article may be published now (apply_button takes the moment): without the
        # button, the desk had to type the time of now into 发布时间.
        scheduled = not unpublished and article.published_at > timezone.now()
        return {
            "publish": unpublished or scheduled,
            "schedule": unpublished,
            "withdraw": not unpublished,
            "return": status == Article.Status.PENDING,
        }

    def apply_button(self, request, article):
        """Set the status (and for 发布, the time) that the pressed button asks for, before the save."""
        if PUBLISH in request.POST:
            if article.status != Article.Status.PUBLISHED or article.published_at > timezone.now():
                article.published_at = timezone.now()
            article.status = Article.Status.PUBLISHED
        elif SCHEDULE in request.POST:
            article.status = Article.Status.PUBLISHED
        elif WITHDRAW in request.POST:
            article.status = Article.Status.DRAFT
        elif RETURN in request.POST:
            # Saved as it waits, then returned (after_button): not published by the status field.
            article.status = Article.Status.PENDING

    def after_button(self, request, article):
        """Submit or return the saved article if asked; tell the editor what happened, with the time."""
        when = f"{timezone.localtime(article.published_at):%Y-%m-%d %H:%M}"
        if SUBMIT in request.POST:
            publishing.submit_for_review(article, user=request.user)
            self.message_user(request, f"“{article.title}”已提交审核：编辑批准后发布。", messages.SUCCESS)
        elif RETURN in request.POST:
            note = request.POST["return_note"]
            publishing.return_for_revision(article, note=note, user=request.user)
            self.message_user(request, f"已将“{article.title}”退回给作者，退回意见：{note.strip()}", messages.SUCCESS)
        elif PUBLISH in request.POST:
            self.message_user(request, f"已发布“{article.title}”，发布时间 {when}。", messages.SUCCESS)
        elif SCHEDULE in request.POST:
            self.message_user(request, f"已定时发布“{article.title}”：将于 {when} 出现在网站上。", messages.SUCCESS)
        elif WITHDRAW in request.POST:
            self.message_user(
                request,
                f"已撤回“{article.title}”（原发布时间 {when}），读者已看不到它。{still_pinned(article.pin)}"
                f"{copies_left_behind([article.pk])}",
                messages.SUCCESS,
            )
        elif article.status == Article.Status.PUBLISHED and article.published_at > timezone.now():
            # A plain 保存 with a later 发布时间 takes a published article off the site until then.
            self.message_user(
                request,
                f"“{article.title}”的发布时间在将来：读者在 {when} 之前看不到它（定时发布）。",
                messages.WARNING,
            )

    def response_add(self, request, obj, post_url_continue=None):
        with self._quiet_if_said(request):
            return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        with self._quiet_if_said(request):
            return super().response_change(request, obj)

    @staticmethod
    def button_pressed(request):
        """Whether the save was one of the desk's buttons, whose message (after_button's) says what it did."""
        return any(button in request.POST for button in (PUBLISH, SCHEDULE, WITHDRAW, SUBMIT, RETURN))

    @staticmethod
    def said_it(request):
        """Note that this save's own message says all it did (a pin, when nothing else changed)."""
        request.desk_said_it = True

    @contextlib.contextmanager
    def _quiet_if_said(self, request):
        """Django's response_add/response_change without their "成功修改了…" when the save's own
        message (after_button's, save_pin's) already said what it did: it would only say it again,
        or claim an edit a pin-only save did not make. Their redirects (保存并继续编辑 …) are kept."""
        request.desk_quiet = self.button_pressed(request) or getattr(request, "desk_said_it", False)
        try:
            yield
        finally:
            request.desk_quiet = False

    def message_user(self, request, message, *args, **kwargs):
        if not getattr(request, "desk_quiet", False):
            super().message_user(request, message, *args, **kwargs)

    def log_addition(self, request, obj, message):
        step = reversion.get_comment()
        entry = super().log_addition(request, obj, message)
        _keep_step(step, entry)
        return entry

    def log_change(self, request, obj, message):
        step = reversion.get_comment()
        entry = super().log_change(request, obj, message)
        _keep_step(step, entry)
        return entry

    def changelist_view(self, request, extra_context=None):
        """The list, with how many drafts wait for review (to those who may approve them)."""
        if publishing.may_publish(request.user):
            pending = Article.objects.filter(status=Article.Status.PENDING).count()
            extra_context = {"desk_pending": pending, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def has_change_permission(self, request, obj=None):
        """A published article is shown read-only to whoever may not change it (撰稿), as
        publishing would refuse their save."""
        if (
            obj is not None
            and obj.status == Article.Status.PUBLISHED
            and not request.user.has_perm(publishing.CHANGE_PUBLISHED_PERMISSION)
        ):
            return False
        return super().has_change_permission(request, obj)

    @admin.action(description="批准发布（按各自的发布时间）", permissions=["publish"])
    def approve(self, request, queryset):
        # Counted before: the list's own filters (编辑过 否) may no longer match what was approved.
        selected = queryset.count()
        count = publishing.set_status(
            queryset.filter(status=Article.Status.PENDING),
            Article.Status.PUBLISHED,
            user=request.user,
            comment="批准发布",
        )
        report_action(
            self,
            request,
            f"已批准发布 {count} 篇稿件（发布时间在将来的会按时出现）",
            changed=count,
            selected=selected,
            untouched="不是待审稿件",
        )


def _keep_step(step, entry):
    """The revision of an admin save says the desk's step first (提交审核, 批准发布, 设为头条: what
    publishing named), then the fields changed (reversion's VersionAdmin writes only those)."""
    if step and reversion.is_active():
        # A return note often ends a sentence: "核实。；没有字段被修改" would read as two stops.
        reversion.set_comment(f"{step.rstrip('。；;. ')}；{entry.get_change_message()}")


class EditingAdminMixin:
    """The notice of who else has an article's form open, and the heartbeat that keeps it true."""

    def get_urls(self):
        heartbeat = self.admin_site.admin_view(require_POST(self.editing_heartbeat))
        return [path("<path:object_id>/editing/", heartbeat, name="articles_article_editing"), *super().get_urls()]

    def editing_heartbeat(self, request, object_id):
        article = get_object_or_404(Article.objects.only("pk"), pk=object_id)
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        if request.POST.get("left"):
            presence.leave(article.pk, request.user)
            return JsonResponse({"others": []})
        others = presence.heartbeat(article.pk, request.user)
        return JsonResponse({"others": [{"name": o["name"], "since": f"{_local(o['since']):%H:%M}"} for o in others]})

    def editing_context(self, request, article):
        """What the form's notice shows: the others editing (``desk_others``) and where to beat."""
        if article is None or not self.has_change_permission(request, article):
            return {}
        others = presence.heartbeat(article.pk, request.user)
        return {
            "desk_others": [{"name": other["name"], "since": _local(other["since"])} for other in others],
            "desk_heartbeat_url": reverse("admin:articles_article_editing", args=[article.pk]),
            "desk_heartbeat_seconds": presence.HEARTBEAT_SECONDS,
        }


def _local(unix_seconds):
    return timezone.localtime(dt.datetime.fromtimestamp(unix_seconds, dt.UTC))


class CompareAdminMixin:
    """django-reversion-compare's compare page, showing an article's fields side by side."""

    object_history_template = "admin/articles/article/object_history.html"
    compare_template = "admin/articles/article/compare.html"

    def compare_view(self, request, object_id, extra_context=None):
        """The library's page, unless a version cannot be read (versions.unreadable): its fallback
        (the stored JSON side by side) fails on data that is not JSON."""
        ids = [request.GET.get(name, "") for name in ("version_id1", "version_id2")]
        if refused := self.unreadable_versions(request, ids, object_id):
            return refused
        return super().compare_view(request, object_id, extra_context)

    def unreadable_versions(self, request, version_ids, object_id=None):
        """A redirect saying why a version of ``version_ids`` cannot be read (versions.unreadable),
        or None when they can: to the 历史 of the article ``object_id`` (as in the URL), or for a
        deleted one (None), to the list of deleted articles.

        Raises PermissionDenied first, saying nothing, to a user who may not open the page it
        would redirect to (reversion's rules: the 历史 wants the view or change permission, the
        list of deleted articles add and change): the message would wait for their next page."""
        if object_id is None:
            allowed = self.has_add_permission(request) and self.has_change_permission(request)
        else:
            allowed = self.has_view_or_change_permission(request)
        if not allowed:
            raise PermissionDenied
        problem = versions.unreadable(version_ids)
        if problem is None:
            return None
        self.message_user(
            request, f"这个版本无法打开，不能查看、对照或恢复：{problem}其他版本不受影响。", messages.ERROR
        )
        if object_id is None:
            return redirect("admin:articles_article_recoverlist")
        return redirect("admin:articles_article_history", quote(unquote(object_id)))

    def compare(self, obj, version1, version2):
        """(rows, False): the library's hook; ``version1`` is the older. No unfollowed fields."""
        return versions.side_by_side(version1, version2), False
