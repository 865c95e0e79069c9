"""Reading times that Python's datetime cannot hold, or holds but cannot show.

On PostgreSQL a ``timestamptz`` before year 1 (``0001-01-01 00:00+08`` is 1 BC in UTC), after 9999,
or ±infinity: psycopg raises DataError for such a value, and a single row holding one (written by
SQL, or by an editor before publication times were validated) made every page listing it answer
500. And on either database a time in the last hours of 9999-12-31 (UTC): Python holds it, but not
its Beijing time, so every page showing it (``timezone.localtime``, the ``date`` filter, the admin)
raised OverflowError. ``'infinity'`` is what a DBA writes for "pinned for ever".

Each is read as the nearest time a page can show instead: datetime.min (UTC), or LATEST_READABLE;
and on SQLite, which keeps any text in a time column, text that is no time as datetime.min.
Both are outside the publication range (articles.validators.is_publication_time), like the values
themselves, so a publication time stays one the site names as out of range.
"""

import datetime as dt
import sqlite3

from django.utils.dateparse import parse_datetime

# The latest time read: its local time in any zone (up to +14 h), and a month after it (the end of
# an archive's month), are still times Python holds.
LATEST_READABLE = dt.datetime(9999, 12, 1, tzinfo=dt.UTC)
_LATEST_READABLE_NAIVE = LATEST_READABLE.replace(tzinfo=None)


def read_times_beyond_python(sender, connection, **kwargs):
    """``connection_created`` receiver: make the connection read every time as one a page can show
    (the module's docstring). On PostgreSQL (psycopg 3), wrap the connection's ``timestamptz``
    loader (Django's, in the connection's time zone) so that it never raises; on SQLite, replace
    the ``datetime`` column converter Django registers (for the process: sqlite3 has no other)."""
    if connection.vendor == "sqlite":
        sqlite3.register_converter("datetime", _sqlite_time)
        return
    if connection.vendor != "postgresql":
        return
    import psycopg
    from psycopg.pq import Format

    adapters = connection.connection.adapters
    loader = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)

    class NearestTimeLoader(loader):
        def load(self, data):
            try:
                value = super().load(data)
            except psycopg.DataError:
                text = bytes(data)
                if text.startswith(b"-") or text.endswith(b"BC"):
                    return dt.datetime.min.replace(tzinfo=getattr(self, "timezone", None) or dt.UTC)
                return LATEST_READABLE
            return LATEST_READABLE if value > LATEST_READABLE else value

    adapters.register_loader("timestamptz", NearestTimeLoader)


def _sqlite_time(raw):
    # Django's converter (django.db.backends.sqlite3.base), no later than LATEST_READABLE. The text
    # is naive UTC as Django writes it, or as SQL wrote it: with an offset, or no time at all
    # (SQLite keeps any value in any column), read as datetime.min, as a time before year 1 is on
    # PostgreSQL: outside the publication range, which the admin shows for the editor to replace.
    text = raw.decode()
    try:
        value = parse_datetime(text)
    except ValueError:
        value = None
    if value is None:
        return dt.datetime.min
    if value.tzinfo is not None:
        # Read in UTC, as PostgreSQL reads a timestamptz: 0001-01-01 00:00+08:00 is 1 BC there,
        # which no page can show (localtime and the date filter raised OverflowError), as
        # datetime.min; 9999-12-31 20:00-05:00, beyond datetime.max, as LATEST_READABLE.
        try:
            value = value.astimezone(dt.UTC)
        except OverflowError:
            return dt.datetime.min if value.year == 1 else LATEST_READABLE
    latest = LATEST_READABLE if value.tzinfo else _LATEST_READABLE_NAIVE
    return latest if value > latest else value
