"""Reading what PostgreSQL holds but Python's datetime cannot: a ``timestamptz`` before year 1
(``0001-01-01 00:00+08`` is 1 BC in UTC), after 9999, or ±infinity.

psycopg raises DataError for such a value, and a single row holding one (written by SQL, or by an
editor before publication times were validated) made every page listing it answer 500. It is
read as the nearest time Python holds instead (datetime.min or datetime.max, UTC), which is
outside the publication range (articles.validators.is_publication_time) like the value itself.
"""

import datetime as dt


def read_times_beyond_python(sender, connection, **kwargs):
    """``connection_created`` receiver: on PostgreSQL (psycopg 3), wrap the connection's
    ``timestamptz`` loader (Django's, in the connection's time zone) so that it never raises."""
    if connection.vendor != "postgresql":
        return
    import psycopg
    from psycopg.pq import Format

    adapters = connection.connection.adapters
    loader = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)

    class NearestTimeLoader(loader):
        def load(self, data):
            try:
                return super().load(data)
            except psycopg.DataError:
                text = bytes(data)
                edge = dt.datetime.min if text.startswith(b"-") or text.endswith(b"BC") else dt.datetime.max
                return edge.replace(tzinfo=getattr(self, "timezone", None) or dt.UTC)

    adapters.register_loader("timestamptz", NearestTimeLoader)
