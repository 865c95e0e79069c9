"""Month arithmetic, in one place: the archive's periods and the keys of an article's neighbours."""


def next_month(date):
    """The first day of the month after ``date``'s (a date)."""
    return date.replace(year=date.year + date.month // 12, month=date.month % 12 + 1, day=1)


def months_between(first, end):
    """The first days of the months from ``first``'s up to, not including, ``end``'s (dates)."""
    months, month = [], first.replace(day=1)
    while month < end.replace(day=1):
        months.append(month)
        month = next_month(month)
    return months
