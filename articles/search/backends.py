"""The full-text index on each database: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL.

Both are kept in step with the articles by signals (articles/search/signals.py), deletions
included; neither has a foreign key, so Django's flush and the tests' truncation never trip on them.
Both store the tokens of articles/search/text.py in three parts (title, body, stocks) and give
each entry a key that orders it by publication time (search_key), so that the newest matches of
even a very common word are read first and the rest never have to be.
"""

from django.db import connection

from .text import phrase

# A key is the publication time in whole seconds times KEY_ID_RANGE, plus the article id.
KEY_ID_RANGE = 10**9
# Seconds up to the year 2255, so that a key fits in 64 bits; later dates share the last second.
_MAX_KEY_SECONDS = 9_000_000_000


def search_key(published_at, article_id):
    """The key ordering an article's entry: newer is higher, ties broken by id."""
    if not 0 < article_id < KEY_ID_RANGE:
        raise ValueError(f"article id {article_id} does not fit in a search key")
    return _seconds(published_at) * KEY_ID_RANGE + article_id


def key_range(after=None, before=None):
    """Keys covering every article published from ``after`` until before ``before`` (and a few more)."""
    low = _seconds(after) * KEY_ID_RANGE if after else 0
    high = (_seconds(before) + 1) * KEY_ID_RANGE if before else (_MAX_KEY_SECONDS + 1) * KEY_ID_RANGE
    return low, high


def _seconds(moment):
    return min(max(int(moment.timestamp()), 0), _MAX_KEY_SECONDS)


class SqliteIndex:
    """The tokens live in an ordinary table whose integer key is the FTS5 table's rowid.

    FTS5 reads its matches in rowid order, so "newest first" costs nothing, and the article id is
    the rowid modulo KEY_ID_RANGE. Triggers keep the FTS5 index in step with the table. prefix='1'
    indexes every token's first character, for one-character words and words ending in one.
    """

    create_sql = [
        """CREATE TABLE IF NOT EXISTS articles_search_document (
            key INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL UNIQUE,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            stocks TEXT NOT NULL
        )""",
        """CREATE VIRTUAL TABLE IF NOT EXISTS articles_search USING fts5(
            title, body, stocks,
            content='articles_search_document', content_rowid='key', tokenize='unicode61', prefix='1'
        )""",
        """CREATE TRIGGER IF NOT EXISTS articles_search_document_inserted
        AFTER INSERT ON articles_search_document BEGIN
            INSERT INTO articles_search (rowid, title, body, stocks)
            VALUES (new.key, new.title, new.body, new.stocks);
        END""",
        """CREATE TRIGGER IF NOT EXISTS articles_search_document_deleted
        AFTER DELETE ON articles_search_document BEGIN
            INSERT INTO articles_search (articles_search, rowid, title, body, stocks)
            VALUES ('delete', old.key, old.title, old.body, old.stocks);
        END""",
    ]
    drop_sql = [
        "DROP TABLE IF EXISTS articles_search",
        "DROP TABLE IF EXISTS articles_search_document",
    ]
    key_column = "articles_search.rowid"
    article_id_column = f"articles_search.rowid %% {KEY_ID_RANGE}"

    def replace(self, cursor, rows):
        """Write the entries ``rows`` of (article id, key, title, body, stocks), replacing old ones."""
        self.delete(cursor, [row[0] for row in rows])
        cursor.executemany(
            "INSERT INTO articles_search_document (article_id, key, title, body, stocks) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )

    def delete(self, cursor, ids):
        for chunk in _chunks(ids):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM articles_search_document WHERE article_id IN ({placeholders})", chunk)

    def delete_all(self, cursor):
        cursor.execute("DELETE FROM articles_search_document")

    def match_sql(self, terms, tier="anywhere"):
        """A condition on articles_search: every term in the ``tier`` (anywhere, title, rest)."""
        expression = " AND ".join(_fts5_phrase(term) for term in terms)
        if tier == "title":
            expression = f"title : ({expression})"
        elif tier == "rest":
            expression = f"({expression}) NOT title : ({expression})"
        return "articles_search MATCH %s", [expression]


class PostgresIndex:
    """One tsvector per article (title weighted A, stocks B, body C) and its key, each indexed."""

    create_sql = [
        """CREATE TABLE IF NOT EXISTS articles_search (
            article_id bigint PRIMARY KEY,
            key bigint NOT NULL,
            document tsvector NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS articles_search_document ON articles_search USING GIN (document)",
        "CREATE INDEX IF NOT EXISTS articles_search_key ON articles_search (key)",
    ]
    drop_sql = ["DROP TABLE IF EXISTS articles_search"]
    key_column = "articles_search.key"
    article_id_column = "articles_search.article_id"
    _document = (
        "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'C')"
        " || setweight(to_tsvector('simple', %s), 'B')"
    )

    def replace(self, cursor, rows):
        """Write the entries ``rows`` of (article id, key, title, body, stocks), replacing old ones."""
        cursor.executemany(
            f"INSERT INTO articles_search (article_id, key, document) VALUES (%s, %s, {self._document}) "
            "ON CONFLICT (article_id) DO UPDATE SET key = EXCLUDED.key, document = EXCLUDED.document",
            rows,
        )

    def delete(self, cursor, ids):
        if ids:
            cursor.execute("DELETE FROM articles_search WHERE article_id = ANY(%s)", [list(ids)])

    def delete_all(self, cursor):
        cursor.execute("TRUNCATE articles_search")

    def match_sql(self, terms, tier="anywhere"):
        """A condition on articles_search: every term in the ``tier`` (anywhere, title, rest)."""
        anywhere = " & ".join(_tsquery_phrase(term) for term in terms)
        in_title = " & ".join(_tsquery_phrase(term, weight="A") for term in terms)
        query = {"anywhere": anywhere, "title": in_title, "rest": f"({anywhere}) & !({in_title})"}[tier]
        return "articles_search.document @@ to_tsquery('simple', %s)", [query]


def _fts5_phrase(term):
    # Tokens are only CJK characters, letters and digits (text.py), so quoting them is enough.
    return " + ".join(f'"{token}"' + (" *" if prefix else "") for token, prefix in phrase(term))


def _tsquery_phrase(term, weight=""):
    operands = []
    for token, prefix in phrase(term):
        label = ("*" if prefix else "") + weight
        operands.append(f"{token}:{label}" if label else token)
    return "(" + " <-> ".join(operands) + ")"


def _chunks(items, size=500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def backend_for(vendor):
    return PostgresIndex() if vendor == "postgresql" else SqliteIndex()


def current_backend():
    return backend_for(connection.vendor)
