import datetime as dt
import unicodedata

from django import forms
from django.utils import timezone

from articles.models import Category
from articles.search.text import MAX_QUERY_LENGTH, code_with_exchange

# The dates a reader may ask for. Beyond them a day cannot be turned into a moment in Beijing, or
# has no next day (and no news is there).
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


class SearchForm(forms.Form):
    q = forms.CharField(label="关键词", max_length=MAX_QUERY_LENGTH, required=False)
    category = forms.ModelChoiceField(
        label="分类",
        queryset=Category.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="全部分类",
    )
    stock = forms.CharField(label="股票代码", max_length=20, required=False)
    start = forms.DateField(label="从", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="到", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].error_messages["max_length"] = f"搜索词太长了，最多 {MAX_QUERY_LENGTH} 个字。"
        self.fields["category"].error_messages["invalid_choice"] = "没有这个分类。"
        for name in ("start", "end"):
            self.fields[name].error_messages["invalid"] = "请输入有效的日期，例如 2022-01-07。"

    def clean_stock(self):
        # A code as the search box reads one: typed full-width, or with its exchange (600519.SH, 0700.HK, AAPL.O).
        written = unicodedata.normalize("NFKC", self.cleaned_data["stock"]).strip()
        with_exchange = code_with_exchange(written)
        return with_exchange[0] if with_exchange else written.upper()

    def clean_start(self):
        return self._within_range(self.cleaned_data["start"])

    def clean_end(self):
        return self._within_range(self.cleaned_data["end"])

    def _within_range(self, day):
        if day and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise forms.ValidationError(f"日期须在 {EARLIEST_DATE:%Y-%m-%d} 到 {LATEST_DATE:%Y-%m-%d} 之间。")
        return day

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("开始日期不能晚于结束日期。")
        return cleaned

    def filter(self, articles):
        """Narrow ``articles`` by the category, stock and date range chosen (dates are Beijing days)."""
        data = self.cleaned_data
        if data.get("category"):
            articles = articles.filter(category=data["category"])
        if data.get("stock"):
            articles = articles.filter(stocks__code=data["stock"])
        after, before = self.published_range()
        if after:
            articles = articles.filter(published_at__gte=after)
        if before:
            articles = articles.filter(published_at__lt=before)
        return articles

    def published_range(self):
        """The chosen dates as the moments (either may be None) an article's time must be in, [after, before)."""
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        return (
            _start_of_day(start) if start else None,
            _start_of_day(end + dt.timedelta(days=1)) if end else None,
        )


def _start_of_day(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
