"""The full-text index on each database: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL.

Both are kept in step with the articles by signals (articles/search/signals.py), deletions
included; neither has a foreign key, so Django's flush and the tests' truncation never trip on them.
Both store the tokens of articles/search/text.py in three parts (title, body, stocks) and answer
one question: which article ids match the terms, anywhere or in the title only.
"""

from django.db import connection


class SqliteIndex:
    create_sql = [
        "CREATE VIRTUAL TABLE IF NOT EXISTS articles_search USING fts5(title, body, stocks, tokenize='unicode61')"
    ]
    drop_sql = ["DROP TABLE IF EXISTS articles_search"]

    def replace(self, cursor, rows):
        self.delete(cursor, [row[0] for row in rows])
        cursor.executemany("INSERT INTO articles_search (rowid, title, body, stocks) VALUES (%s, %s, %s, %s)", rows)

    def delete(self, cursor, ids):
        for chunk in _chunks(ids):
            cursor.execute(f"DELETE FROM articles_search WHERE rowid IN ({', '.join(['%s'] * len(chunk))})", chunk)

    def delete_all(self, cursor):
        cursor.execute("DELETE FROM articles_search")

    def matching_ids_sql(self, terms, title_only=False):
        expression = " AND ".join(f'"{" ".join(term)}"' for term in terms)
        if title_only:
            expression = f"title : ({expression})"
        return "SELECT rowid FROM articles_search WHERE articles_search MATCH %s", [expression]


class PostgresIndex:
    create_sql = [
        """CREATE TABLE IF NOT EXISTS articles_search (
            article_id bigint PRIMARY KEY,
            document tsvector NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS articles_search_document ON articles_search USING GIN (document)",
    ]
    drop_sql = ["DROP TABLE IF EXISTS articles_search"]
    _document = (
        "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'C')"
        " || setweight(to_tsvector('simple', %s), 'B')"
    )

    def replace(self, cursor, rows):
        cursor.executemany(
            f"INSERT INTO articles_search (article_id, document) VALUES (%s, {self._document}) "
            "ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document",
            rows,
        )

    def delete(self, cursor, ids):
        if ids:
            cursor.execute("DELETE FROM articles_search WHERE article_id = ANY(%s)", [list(ids)])

    def delete_all(self, cursor):
        cursor.execute("TRUNCATE articles_search")

    def matching_ids_sql(self, terms, title_only=False):
        weight = ":A" if title_only else ""
        query = " & ".join("(" + " <-> ".join(f"{token}{weight}" for token in term) + ")" for term in terms)
        return "SELECT article_id FROM articles_search WHERE document @@ to_tsquery('simple', %s)", [query]


def _chunks(items, size=500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def backend_for(vendor):
    return PostgresIndex() if vendor == "postgresql" else SqliteIndex()


def current_backend():
    return backend_for(connection.vendor)
