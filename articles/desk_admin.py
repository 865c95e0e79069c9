"""The newsroom desk in the admin (issue 25): what ArticleAdmin adds to a blog's admin, kept apart
from the form's own fields so that each part can change on its own.

- Pins (头条, 要闻): a fieldset on the form, a list column and actions, all written through
  publishing.pin_article / unpin_article.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from . import publishing
from .models import Article

PIN_FIELDSET = (
    "首页置顶",
    {
        "fields": list(publishing.PIN_FIELDS),
        "description": "头条只有一篇（新设的头条替换原来的）；要闻最多五篇，按顺序从小到大。"
        "到了截止时间，文章自动回到最新列表。",
    },
)


class PinFormMixin:
    """Checks a changed pin as publishing.pin_article will (an end in the past, a sixth 要闻), so
    that the editor reads the reason beside the field rather than after the save."""

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
        if article.pinned_until <= timezone.now():
            return f"{label}（已到期）"
        return f"{label}（至 {timezone.localtime(article.pinned_until):%m-%d %H:%M}）"

    def save_pin(self, request, article, form):
        """Pin or unpin ``article`` as the form's pin fieldset says, if it was changed there."""
        if not form.pin_changed():
            return
        pin = form.cleaned_data.get("pin")
        if pin:
            publishing.pin_article(
                article,
                kind=pin,
                order=form.cleaned_data.get("pin_order"),
                until=form.cleaned_data.get("pinned_until"),
                user=request.user,
            )
            self.message_user(request, _pinned_message(article, pin, form.cleaned_data.get("pinned_until")))
        else:
            publishing.unpin_article(article, user=request.user)
            self.message_user(request, f"“{article.title}”已取消置顶。")

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
        self.message_user(request, f"已取消 {count} 篇文章的置顶，它们回到最新列表。", messages.SUCCESS)

    def _pin(self, request, articles, kind):
        for article in articles:
            try:
                publishing.pin_article(article, kind=kind, user=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, f"“{article.title}”未能置顶：{' '.join(_messages(error))}", messages.ERROR)
                return
            self.message_user(request, _pinned_message(article, kind, None), messages.SUCCESS)


def _pinned_message(article, kind, until):
    ends = f"，至 {timezone.localtime(until):%Y-%m-%d %H:%M} 自动取消" if until else ""
    shown = "" if Article.objects.published().filter(pk=article.pk).exists() else "（发布后才会出现在首页）"
    return f"“{article.title}”已设为{Article.Pin(kind).label}{ends}{shown}。"


def _messages(error):
    return error.messages if isinstance(error, ValidationError) else [str(error)]
