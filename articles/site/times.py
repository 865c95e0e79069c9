"""Times as readers of news read them: 今天 15:02, 昨天 09:30, else the date.

A time read relative to the day changes at midnight without any write: a page showing one names
``keys.TODAY``, which the midnights source of moments (caching/moments.py) names at each Beijing
midnight, so no cache keeps it past then.
"""

from django.utils import timezone

from articles.caching import keys

RELATIVE_DAYS = {0: "今天", 1: "昨天"}
WEEKDAYS = "一二三四五六日"


def time_label(moment, today=None):
    """``moment`` (an aware datetime) in Beijing time: ``今天 15:02``, ``昨天 09:30`` (the day
    before ``today``, a date; default: Beijing's today) or ``2026-11-14 09:30``."""
    local = timezone.localtime(moment)
    relative = RELATIVE_DAYS.get(((today or timezone.localdate()) - local.date()).days)
    return f"{relative} {local:%H:%M}" if relative else f"{local:%Y-%m-%d %H:%M}"


def day_label(day, today=None):
    """A Beijing day (a date) as a timeline's heading: 今天, 昨天 or ``11月14日 星期六`` (with
    the year when it is not this year's)."""
    today = today or timezone.localdate()
    relative = RELATIVE_DAYS.get((today - day).days)
    if relative:
        return relative
    date = f"{day.month}月{day.day}日" if day.year == today.year else f"{day.year}年{day.month}月{day.day}日"
    return f"{date} 星期{WEEKDAYS[day.weekday()]}"


def reads_relative(moment, today=None):
    """Whether ``moment`` is shown relative to ``today`` (今天 or 昨天): the page names keys.TODAY."""
    return ((today or timezone.localdate()) - timezone.localdate(moment)).days in RELATIVE_DAYS


def note_relative(moments, today=None):
    """Name keys.TODAY for the page being made when any of ``moments`` reads relative to the day."""
    if any(reads_relative(moment, today) for moment in moments):
        keys.depends_on(keys.TODAY)


def day_of(moment):
    """The Beijing day of ``moment``."""
    return timezone.localdate(moment)
