"""The full-text index on each database: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL.

Both are kept in step with the articles by signals (articles/search/signals.py), deletions
included; neither has a foreign key, so Django's flush and the tests' truncation never trip on them.
Both store the tokens of articles/search/text.py in three weighted parts (title, stocks, body)
and answer the same questions: which article ids match, ranked with title matches first, then by
relevance (rounded, so that near-equal scores tie), then newest first.
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

    def match_expression(self, terms):
        return " AND ".join(f'"{" ".join(term)}"' for term in terms)

    def matching_ids_sql(self, terms):
        return "SELECT rowid FROM articles_search WHERE articles_search MATCH %s", [self.match_expression(terms)]

    def ranked_sql(self, terms, candidates_sql, candidates_params):
        expression = self.match_expression(terms)
        sql = f"""
            SELECT a.id FROM articles_search s JOIN articles_article a ON a.id = s.rowid
            WHERE articles_search MATCH %s AND a.id IN ({candidates_sql})
            ORDER BY
                CASE WHEN s.rowid IN (SELECT rowid FROM articles_search WHERE articles_search MATCH %s) THEN 0 ELSE 1 END,
                round(bm25(articles_search, 10.0, 1.0, 5.0), 1),
                a.published_at DESC, a.id DESC
        """
        return sql, [expression, *candidates_params, "title : (" + expression + ")"]

    def count_sql(self, terms, candidates_sql, candidates_params):
        sql = f"SELECT count(*) FROM articles_search WHERE articles_search MATCH %s AND rowid IN ({candidates_sql})"
        return sql, [self.match_expression(terms), *candidates_params]


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

    def tsquery(self, terms, weight=""):
        return " & ".join("(" + " <-> ".join(f"{token}{weight}" for token in term) + ")" for term in terms)

    def matching_ids_sql(self, terms):
        return "SELECT article_id FROM articles_search WHERE document @@ to_tsquery('simple', %s)", [
            self.tsquery(terms)
        ]

    def ranked_sql(self, terms, candidates_sql, candidates_params):
        sql = f"""
            SELECT a.id FROM articles_search s JOIN articles_article a ON a.id = s.article_id
            WHERE s.document @@ to_tsquery('simple', %s) AND a.id IN ({candidates_sql})
            ORDER BY
                s.document @@ to_tsquery('simple', %s) DESC,
                round(ts_rank('{{0.1, 0.2, 0.5, 1.0}}', s.document, to_tsquery('simple', %s))::numeric, 2) DESC,
                a.published_at DESC, a.id DESC
        """
        query = self.tsquery(terms)
        return sql, [query, *candidates_params, self.tsquery(terms, weight=":A"), query]

    def count_sql(self, terms, candidates_sql, candidates_params):
        sql = f"SELECT count(*) FROM articles_search WHERE document @@ to_tsquery('simple', %s) AND article_id IN ({candidates_sql})"
        return sql, [self.tsquery(terms), *candidates_params]


def _chunks(items, size=500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def backend_for(vendor):
    return PostgresIndex() if vendor == "postgresql" else SqliteIndex()


def current_backend():
    return backend_for(connection.vendor)
