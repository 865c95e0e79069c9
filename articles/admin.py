import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets as admin_widgets
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, DateTimeField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from reversion.models import Version
from reversion_compare.admin import CompareVersionAdmin

from . import publishing, tagging
from .caching import VERSION_FACTS_SECONDS, current_version
from .desk_admin import (
    ARTICLE_FIELDSETS,
    CompareAdminMixin,
    EditingAdminMixin,
    PinAdminMixin,
    PinFormMixin,
    ReviewAdminMixin,
    ReviewFormMixin,
    StatusFilter,
    copies_left_behind,
    report_action,
    still_pinned,
)
from .editor import BodyEditorWidget
from .intake import reasons
from .models import (
    Article,
    Category,
    ImportProblem,
    ImportRun,
    IngestToken,
    StockReference,
    Tag,
    TaggedArticle,
)
from .roles import person_name
from .sanitize import CONTROL_CHARACTERS, FORMAT_CHARACTERS, body_as_shown, html_left_out_of, plain_label, sanitize_html
from .search import MAX_RESULTS, matching_ids
from .validators import is_publication_time

admin.site.site_header = "金融消息 · 编辑后台"
admin.site.site_title = "金融消息编辑后台"
admin.site.index_title = "内容管理"
SOURCES_KEY = "finews:sources:{version}"
COUNT_FIELDS = ["created", "updated", "unchanged", "conflict", "rejected"]


TIME_WITH_SECONDS = "%H:%M:%S"


class SplitDateTimeWithSeconds(admin_widgets.AdminSplitDateTime):
    """The admin's date and time, the time with its seconds. Imported news is timed to the second
    and the admin showed 12:35 (the Chinese locale's first time format): saved back as 12:35:00,
    an editor's change of a title moved the article, and a pin that ended at 09:30:15 refused the
    save (an end in the past, not typed)."""

    def __init__(self, attrs=None):
        time = admin_widgets.BaseAdminTimeWidget(format=TIME_WITH_SECONDS)
        forms.MultiWidget.__init__(self, [admin_widgets.BaseAdminDateWidget, time], attrs)


class HiddenSplitDateTimeWithSeconds(forms.SplitHiddenDateTimeWidget):
    """The hidden copy of the value as the form was opened (a field whose default is a callable, as
    published_at's: what changed_data compares), as precise as the field shown."""

    def __init__(self, attrs=None):
        super().__init__(attrs, time_format=TIME_WITH_SECONDS)


class SplitDateTimeFieldWithSeconds(forms.SplitDateTimeField):
    widget = SplitDateTimeWithSeconds
    hidden_widget = HiddenSplitDateTimeWithSeconds


class ArticleAdminForm(ReviewFormMixin, PinFormMixin, forms.ModelForm):
    source_url = forms.URLField(label="原文链接", required=False, max_length=500, assume_scheme="https")
    # When the article was last saved as this form shows it: a save in between is not overwritten
    # unknowingly (publishing.check_unchanged_since). A string, to keep the microseconds.
    seen_updated_at = forms.CharField(widget=forms.HiddenInput, required=False)
    # Who is saving (ArticleAdmin.get_form): the conflict names them as 您自己, not by their name.
    editor = None

    class Meta:
        model = Article
        fields = [
            "title", "info_code", "slug", "category", "tags", "stocks", "story", "status", "published_at",
            "summary", "body", "cover_image", "source_name", "source_url", "authors",
        ]  # fmt: skip
        widgets = {
            "body": BodyEditorWidget(),
            "summary": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"tags": tagging.HELP_TEXT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The labels of the fields whose text lost characters nobody sees (_as_label).
        self.invisible_dropped = []
        if self.instance.pk is not None:
            self.fields["seen_updated_at"].initial = self.instance.updated_at.isoformat()
        if "status" in self.fields:
            # What the editor changed is told from what the form was opened with (as published_at's,
            # a callable default, always is): see _as_stored_unless_changed.
            self.fields["status"].show_hidden_initial = True
        stored_status = self.instance.status
        if "status" in self.fields and stored_status not in Article.Status.values:
            # Written around the write path (SQL): no choice of the select, which showed none chosen
            # (a browser sends the first). Named as stored, for the editor to choose.
            self.initial["status"] = None
            self.fields[
                "status"
            ].help_text = f"存储的状态“{stored_status}”不是可选的状态（草稿、待审、已发布）：请重新选择。"
        stored_at = self.instance.published_at
        if "published_at" in self.fields and stored_at and not is_publication_time(stored_at):
            # Written around the write path (SQL): perhaps beyond what local time can show (year
            # 9999 + 8 h). Shown as stored, in UTC, for the editor to replace.
            self.initial["published_at"] = None
            self.fields[
                "published_at"
            ].help_text = (
                f"存储的发布时间 {stored_at.isoformat()}（UTC）超出 1990-01-01 到 2100-12-31 的范围：请重新填写。"
            )

    def clean(self):
        # A form-wide error: the field is hidden, and so would be an error of its own.
        cleaned_data = super().clean()
        seen = cleaned_data.get("seen_updated_at")
        if self.instance.pk is None or not seen:
            return cleaned_data  # a new article, or a form opened before this check existed
        try:
            seen_at = dt.datetime.fromisoformat(seen)
        except ValueError:
            raise forms.ValidationError("无法确认您打开的是哪个版本：请重新打开这篇文章。") from None
        try:
            publishing.check_unchanged_since(self.instance.pk, seen_at, user=self.editor)
        except publishing.ChangedSinceSeen as changed:
            # Said once: the form now carries the stored version, so saving again overwrites it knowingly.
            self.data = self.data.copy()
            self.data[self.add_prefix("seen_updated_at")] = changed.stored_at.isoformat()
            raise forms.ValidationError(changed.messages) from None
        return cleaned_data

    def _post_clean(self):
        super()._post_clean()
        if not self.errors:
            # The cover is stored while the form is checked: a storage that fails is then an error
            # on the form, which keeps everything typed, rather than a failed save.
            try:
                publishing.store_cover(self.instance)
            except ValidationError as error:
                self._update_errors(error)

    def _as_stored_unless_changed(self, name):
        """The field's value as stored, unless the editor changed it on the form. The state of an
        article (状态, 发布时间) is the desk's: after a conflict, saving again (which overwrites the
        save in between knowingly) turned a colleague's 发布 back into a draft, or a 撤回 back into
        a published article, though the form never showed it changed."""
        stored = getattr(self.instance, name) if self.instance.pk is not None else None
        if stored is not None and name not in self.changed_data:
            return stored
        return self.cleaned_data[name]

    def clean_status(self):
        if self.instance.status not in Article.Status.values:
            return self.cleaned_data["status"]  # none chosen (__init__): the editor's to choose
        return self._as_stored_unless_changed("status")

    def clean_published_at(self):
        stored = self.instance.published_at
        if stored is not None and not is_publication_time(stored):
            return self.cleaned_data["published_at"]  # shown empty (__init__): the editor's to replace
        typed = self._as_stored_unless_changed("published_at")
        # The field shows the time to the second; one stored finer (发布 takes the moment, to the
        # microsecond) came back cut to its second: an untouched form moved it and wrote a version.
        if typed is not None and stored is not None and typed == stored.replace(microsecond=0):
            return stored
        return typed

    def clean_title(self):
        title = self._as_label("标题", self.cleaned_data["title"])
        if not title:
            raise forms.ValidationError("标题不能为空。")
        return title

    def clean_tags(self):
        shown = self.initial.get("tags")
        if shown is not None and self.data.get(self.add_prefix("tags")) == tagging.format_tags(shown):
            # Sent as shown: the tags as stored, even one whose name (SQL's: empty, spaces around
            # it) the text cannot carry back, which the text would have dropped or moved unsaid.
            return list(shown)
        # Tag names are text by the rule of titles (sanitize.plain_label).
        names = [name for name in (self._as_label("标签", name) for name in self.cleaned_data["tags"]) if name]
        # Refused here rather than by the save, which runs after the form is valid (a server error).
        publishing.validate_tag_names(names)
        return names

    def clean_summary(self):
        # Text as typed: a summary holds no markup, so "<DXY>" is kept (sanitize.plain_label).
        return self._as_label("摘要", self.cleaned_data["summary"], whitespace="lines")

    def _as_label(self, label, text, whitespace="collapse"):
        """plain_label of ``text``; ``label`` (the field's name) is noted in invisible_dropped when
        that took out control or invisible format characters, which ArticleAdmin.save_model says."""
        if (CONTROL_CHARACTERS.search(text) or FORMAT_CHARACTERS.search(text)) and label not in self.invisible_dropped:
            self.invisible_dropped.append(label)
        return plain_label(text, whitespace=whitespace)

    @cached_property
    def changed_data(self):
        """The names of the fields the save changes (Django's list, which names them in 历史).

        The body editor writes a stored body its own way (attributes in its order, a table in a
        wrapper with column widths): the body changed only when what the sanitizer keeps differs.
        """
        changed = super().changed_data
        cleaned_body = getattr(self, "cleaned_data", {}).get("body")
        if "body" in changed and cleaned_body is not None and cleaned_body == self.initial.get("body"):
            return [name for name in changed if name != "body"]
        return changed

    def clean_body(self):
        # The same allow-list as the import: what an editor pastes is held to the same rules, and
        # what it leaves out is named as the import names it (ArticleAdmin.save_model says it).
        body = sanitize_html(self.cleaned_data["body"])
        self.body_left_out = html_left_out_of(self.cleaned_data["body"])
        return body


def count_of(rows, column):
    """How many of ``rows`` point at each listed row through ``column``.

    A subquery evaluated for the rows of the page only, where Count() over a join would group
    every row of both tables before the page is cut (seconds at a million articles).
    """
    counted = rows.filter(**{column: OuterRef("pk")}).order_by().values(column).annotate(count=Count("*"))
    return Coalesce(Subquery(counted.values("count")), 0)


class TagFilter(admin.SimpleListFilter):
    """标签: articles with the tag, without the DISTINCT that Django's filter across a many-to-many adds."""

    title = "标签"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(tag.pk, tag.name) for tag in Tag.objects.order_by("name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if not self.value().isdigit():
            raise IncorrectLookupParameters(f"no tag {self.value()!r}")
        return queryset.tagged_in_list_order(int(self.value()))


class SourceFilter(admin.SimpleListFilter):
    """来源: the sources named in articles, read once per content version (every article is read)."""

    title = "来源"
    parameter_name = "source_name"

    def lookups(self, request, model_admin):
        key = SOURCES_KEY.format(version=current_version())
        return [(name, name) for name in cache.get_or_set(key, _source_names, VERSION_FACTS_SECONDS)]

    def queryset(self, request, queryset):
        return queryset.filter(source_name=self.value()) if self.value() else queryset


def _source_names():
    return list(
        Article.objects.exclude(source_name="").order_by("source_name").values_list("source_name", flat=True).distinct()
    )


@admin.register(Article)
class ArticleAdmin(CompareAdminMixin, EditingAdminMixin, ReviewAdminMixin, PinAdminMixin, CompareVersionAdmin):
    form = ArticleAdminForm
    formfield_overrides = {
        DateTimeField: {"form_class": SplitDateTimeFieldWithSeconds, "widget": SplitDateTimeWithSeconds}
    }
    list_display = [
        "title", "category", "publication_state", "pin_state", "publication_time", "source_name", "stock_count",
        "thumbnail",
    ]  # fmt: skip
    list_display_links = ["title"]
    list_filter = [
        StatusFilter,
        ("published_at", admin.DateFieldListFilter),
        "edited_since_import",
        "category",
        SourceFilter,
        TagFilter,
    ]
    list_select_related = ["category"]
    list_per_page = 100
    # "N results (M total)" would count every article on each search: seconds at a million.
    # (No date_hierarchy either: listing its years reads every article, 20 s at a million.)
    show_full_result_count = False
    # Nor the filters' "显示计数": a count for every category, source and tag, over every article.
    show_facets = admin.ShowFacets.NEVER
    # The search box uses the full-text index (get_search_results); search_fields only shows the box.
    search_fields = ["title"]
    search_help_text = (
        f"按标题和正文中的词语、股票代码或名称、标签名、资讯编号搜索；列出最新的至多 {MAX_RESULTS} 条匹配。"
    )
    autocomplete_fields = ["category", "stocks", "story"]
    readonly_fields = [
        "cover_preview",
        "body_as_read",
        "tags_as_written",
        "responsible_editor_name",
        "edited_since_import",
        "source_path",
        "source_hash",
        "created_at",
        "updated_at",
    ]
    actions = ["approve", "publish", "withdraw", "pin_as_lead", "pin_as_top_story", "unpin", "split_stories"]
    fieldsets = ARTICLE_FIELDSETS

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(stock_count=count_of(Article.stocks.through.objects, "article_id"))
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = matching_ids(term)
        # A tag's name finds its articles through the index too (search.SearchResults).
        found = Q(info_code=term) | Q(id__in=matches) if matches is not None else Q(info_code=term)
        return queryset.filter(found), False

    def _publishing_readonly_fields(self, request, obj):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request):
            # What publishing.save_article would refuse anyway, shown as text rather than as a field.
            fields.append("status")
            if obj is not None and obj.status == Article.Status.PUBLISHED:
                fields.append("published_at")
        return [*fields, *self.pin_readonly_fields(request)]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.editor = request.user  # a class made for this request (modelform_factory)
        return form

    def get_changeform_initial_data(self, request):
        return {"published_at": timezone.now(), **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        self.apply_button(request, obj)
        stored_at = obj.updated_at
        # Marked as edited, so a later import of the same post never overwrites it.
        publishing.save_article(
            obj, user=request.user, tags=form.cleaned_data["tags"], stocks=form.cleaned_data["stocks"]
        )
        self.after_button(request, obj)
        self.save_pin(request, obj, form)
        # save_article writes nothing, updated_at included, for a form saved as it was opened:
        # Django's "已保存…" would claim a save that did not happen. A button's step (提交审核,
        # 退回修改) is written after it and says so itself: "没有改动" would contradict it.
        if change and obj.updated_at == stored_at and not form.pin_changed() and not self.button_pressed(request):
            self.message_user(request, f"“{obj.title}”没有改动，未保存新版本。", messages.INFO)
            self.said_it(request)
        if getattr(form, "invisible_dropped", None):
            self.message_user(
                request,
                f"{'、'.join(form.invisible_dropped)}中看不见的字符（控制字符、零宽空格、文字方向控制符等）保存时已去掉："
                "页面上看不出差别，搜索和链接以去掉后的文字为准。",
                messages.WARNING,
            )
        if any(getattr(form, "body_left_out", ())):
            self.message_user(request, reasons.body_left_out_on_save(*form.body_left_out), messages.WARNING)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if not self._on_revision_page(request):
            context["desk_buttons"] = self.desk_buttons(request, obj)
            context.update(self.editing_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def revision_view(self, request, object_id, version_id, extra_context=None):
        """A version's page shows the article as it was (reversion's own preview, rolled back);
        saving it restores that version through publishing.restore_version, which follows merged
        tags and names the ones deleted since. A version that cannot be read is refused first
        (CompareAdminMixin.unreadable_versions)."""
        if refused := self.unreadable_versions(request, [version_id], object_id):
            return refused
        if request.method != "POST":
            return super().revision_view(request, object_id, version_id, extra_context)
        version = get_object_or_404(Version, pk=version_id, object_id=unquote(object_id))
        try:
            article, warnings = publishing.restore_version(version, user=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return redirect(request.path)
        for warning in warnings:
            self.message_user(request, warning, messages.WARNING)
        when = timezone.localtime(version.revision.date_created).strftime("%Y-%m-%d %H:%M")
        self.message_user(
            request,
            f"已恢复到 {when} 的版本的内容；状态（{article.get_status_display()}）和发布时间没有改变，"
            "可以在下面继续修改。",
            messages.SUCCESS,
        )
        return redirect("admin:articles_article_change", article.pk)

    def recover_view(self, request, version_id, extra_context=None):
        """Reversion's page of a deleted article, unless its version cannot be read."""
        if refused := self.unreadable_versions(request, [version_id]):
            return refused
        return super().recover_view(request, version_id, extra_context)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self._on_revision_page(request):
            # A version to restore: its body as readers read it (not its HTML source), its tags as
            # the tag field writes them ("宏观，A股" quoted: joined by commas, it read as two tags).
            shown = {"body": "body_as_read", "tags": "tags_as_written"}
        elif obj is not None and not self.has_change_permission(request, obj):
            # Shown, not edited (a 撰稿 on a published article): the body as readers see it, not its HTML.
            shown = {"body": "body_as_read"}
        else:
            return fieldsets
        return [
            (name, {**options, "fields": [shown.get(field, field) for field in options["fields"]]})
            for name, options in fieldsets
        ]

    @staticmethod
    def _on_revision_page(request):
        match = request.resolver_match
        return match is not None and match.url_name == "articles_article_revision"

    def get_readonly_fields(self, request, obj=None):
        fields = self._publishing_readonly_fields(request, obj)
        if self._on_revision_page(request):
            # Saving a version restores it as it was (revision_view): nothing typed there would be kept.
            shown = [*ArticleAdminForm.Meta.fields, *publishing.PIN_FIELDS]
            return [*fields, *(name for name in shown if name not in fields)]
        return fields

    def save_related(self, request, form, formsets, change):
        """Tags and stocks were saved with the article, in its revision; only inlines would be left."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        publishing.delete_articles(Article.objects.filter(pk=obj.pk), user=request.user)

    def delete_queryset(self, request, queryset):
        publishing.delete_articles(queryset, user=request.user)

    def view_on_site(self, obj):
        url = obj.get_absolute_url()
        return url if Article.objects.published().filter(pk=obj.pk).exists() else f"{url}?preview=1"

    def has_publish_permission(self, request):
        return publishing.may_publish(request.user)

    @admin.display(description="状态", ordering="status")
    def publication_state(self, article):
        if article.status == Article.Status.PUBLISHED and article.published_at > timezone.now():
            state = "定时发布"
        else:
            state = article.get_status_display()
        # Two short lines rather than one long one: the list's columns fit a laptop (desk.css).
        return format_html("{}<br>副本", state) if article.story_id else state

    @admin.display(description="时间", ordering="published_at")
    def publication_time(self, article):
        # A time written around the write path (SQL) may be beyond what local time can show.
        if not is_publication_time(article.published_at):
            return format_html("{}<br>（UTC，超出范围）", article.published_at.isoformat())
        local = timezone.localtime(article.published_at)
        return format_html("{}<br>{}", f"{local:%Y-%m-%d}", f"{local:%H:%M}")

    @admin.display(description="股票", ordering="stock_count")
    def stock_count(self, article):
        return article.stock_count

    @admin.display(description="封面")
    def thumbnail(self, article):
        # No thumbnail, no cover: the release before 0023 removes a cover leaving the rendition it
        # does not know (as the site's lists, includes/article_item.html).
        if not article.cover_thumbnail:
            return ""
        # The lists' rendition: a 48 px cell's 2×, at a sixth of the thumbnail's pixels (a hundred rows a page).
        image = article.cover_list_image or article.cover_thumbnail
        return format_html('<img src="{}" alt="" width="48" loading="lazy">', image.url)

    @admin.display(description="正文")
    def body_as_read(self, article):
        return format_html('<div class="desk-body-as-read">{}</div>', body_as_shown(article.body))

    @admin.display(description="标签")
    def tags_as_written(self, article):
        return tagging.format_tags(article.tags.all())

    @admin.display(description="责任编辑")
    def responsible_editor_name(self, article):
        # Named as readers see it (roles.person_name), not by the account's user name.
        if article.responsible_editor is None:
            return "（发布时自动填写为发布它的编辑）"
        return person_name(article.responsible_editor)

    @admin.display(description="封面预览")
    def cover_preview(self, article):
        if not article.cover_thumbnail:
            return "（无）"
        return format_html('<img src="{}" alt="" style="max-width: 240px">', article.cover_thumbnail.url)

    @admin.action(description="发布所选文章", permissions=["publish"])
    def publish(self, request, queryset):
        selected = queryset.count()
        count = publishing.set_status(queryset, Article.Status.PUBLISHED, user=request.user, comment="发布")
        report_action(
            self,
            request,
            f"已发布 {count} 篇文章（发布时间在将来的文章会按时出现）",
            changed=count,
            selected=selected,
            untouched="已经是已发布（或定时发布）的",
        )

    @admin.action(description="撤回为草稿", permissions=["publish"])
    def withdraw(self, request, queryset):
        selected = queryset.count()
        withdrawn = dict(queryset.filter(status=Article.Status.PUBLISHED).values_list("pk", "pin"))
        count = publishing.set_status(queryset, Article.Status.DRAFT, user=request.user, comment="撤回为草稿")
        report_action(
            self,
            request,
            f"已将 {count} 篇文章撤回为草稿，读者已看不到它们",
            changed=count,
            selected=selected,
            untouched="本来就是草稿",
        )
        for note in (still_pinned(*withdrawn.values()), copies_left_behind(withdrawn)) if count else ():
            if note:
                self.message_user(request, note, messages.WARNING)

    @admin.action(description="拆分同一新闻（各自成为单独的文章）", permissions=["change"])
    def split_stories(self, request, queryset):
        count = publishing.split_stories(queryset, user=request.user)
        if count == 0:
            self.message_user(request, "所选文章都不属于同一新闻，没有可拆分的。", messages.WARNING)
            return
        self.message_user(request, f"已拆分 {count} 篇文章：它们各有自己的页面了。", messages.SUCCESS)


class TopicAdmin(admin.ModelAdmin):
    """Categories, tags and stocks, written through publishing like articles."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "slug":
            # Left empty, it is made from the name's pinyin (publishing.save_topic), as its help
            # text says: the form refused it empty ("这个字段是必填项"), the editor left to invent one.
            field.required = False
            field.help_text = field.help_text or "网址中使用的英文别名，留空则由名称的拼音生成。"
        return field

    def save_model(self, request, obj, form, change):
        publishing.save_topic(obj, user=request.user)

    def delete_model(self, request, obj):
        publishing.delete_topics(type(obj).objects.filter(pk=obj.pk), user=request.user)

    def delete_queryset(self, request, queryset):
        publishing.delete_topics(queryset, user=request.user)


@admin.register(Category)
class CategoryAdmin(TopicAdmin):
    list_display = ["display_name", "name", "slug", "channel_position", "article_count"]
    # Which categories are the header's channels, and their order, set from the list at once.
    list_editable = ["channel_position"]
    search_fields = ["name", "title", "slug"]
    fields = ["name", "title", "slug", "description", "channel_position"]

    def get_queryset(self, request):
        # An explicit order: GROUP BY makes the database ignore Meta.ordering.
        return (
            super()
            .get_queryset(request)
            .annotate(article_count=count_of(Article.objects, "category_id"))
            .order_by("name")
        )

    @admin.display(description="显示名称", ordering="title")
    def display_name(self, category):
        return category.display_name

    @admin.display(description="文章数", ordering="article_count")
    def article_count(self, category):
        return category.article_count


@admin.register(Tag)
class TagAdmin(TopicAdmin):
    list_display = ["name", "slug", "article_count"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug"]
    actions = ["merge_tags"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(article_count=count_of(TaggedArticle.objects, "tag_id"))
            .order_by("name")
        )

    @admin.display(description="文章数", ordering="article_count")
    def article_count(self, tag):
        return tag.article_count

    @admin.action(description="合并所选标签（并入文章最多的那个）", permissions=["delete"])
    def merge_tags(self, request, queryset):
        tags = sorted(queryset, key=lambda tag: (-tag.article_count, tag.pk))
        if len(tags) < 2:
            self.message_user(request, "请至少选择两个标签再合并。", messages.WARNING)
            return
        kept, merged = tags[0], tags[1:]
        publishing.merge_tags(kept, merged, user=request.user)
        names = "、".join(tag.name for tag in merged)
        self.message_user(request, f"已将 {names} 合并到“{kept.name}”。", messages.SUCCESS)


@admin.register(StockReference)
class StockReferenceAdmin(TopicAdmin):
    list_display = ["code", "market", "name", "article_count"]
    list_filter = ["market"]
    search_fields = ["code", "name"]
    fields = ["code", "market", "name"]

    def get_queryset(self, request):
        articles = count_of(Article.stocks.through.objects, "stockreference_id")
        return super().get_queryset(request).annotate(article_count=articles).order_by("market", "code")

    @admin.display(description="文章数", ordering="article_count")
    def article_count(self, stock):
        return stock.article_count


class ImportProblemInline(admin.TabularInline):
    model = ImportProblem
    template = "admin/articles/importrun/problems.html"
    # The path and info code head each file's rows (the template), once per file.
    fields = ["outcome", "reason_in_chinese", "article_link"]
    # Short columns, kept to one line (desk.css): the reason takes the rest of the width.
    nowrap_fields = ["outcome", "article_link"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # The template groups consecutive rows by path: a file's rows must be together.
        return super().get_queryset(request).order_by("path", "id")

    @admin.display(description="原因或改动")
    def reason_in_chinese(self, problem):
        return format_html('<span title="{}">{}</span>', problem.reason, reasons.in_chinese(problem.reason))

    @admin.display(description="文章")
    def article_link(self, problem):
        if problem.article_id is None:
            return "—"
        url = reverse("admin:articles_article_change", args=[problem.article_id])
        label = "编辑者修改过的文章" if problem.outcome == ImportProblem.Outcome.CONFLICT else "导入的文章"
        return format_html('<a href="{}">{}</a>', url, label)


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """What every import did: read only, written by the import itself (articles/intake/runs.py)."""

    list_display = ["started_at", "finished_at", "source", "result", *COUNT_FIELDS]
    list_filter = ["result", "source", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["problems__path", "problems__info_code", "source_name"]
    search_help_text = "按文件名或资讯编号搜索有问题或导入时有改动的文件，或按导入的路径搜索。"
    fields = ["started_at", "finished_at", "source", "source_name", "result", *COUNT_FIELDS]
    readonly_fields = fields
    inlines = [ImportProblemInline]
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    """Tokens are made with ``manage.py ingest_token create NAME`` (the secret is shown there once)."""

    list_display = ["name", "created_at", "last_used_at", "revoked_at"]
    fields = list_display
    readonly_fields = list_display
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="撤销所选令牌（之后用它推送会被拒绝）", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"已撤销 {count} 个令牌。", messages.SUCCESS)
