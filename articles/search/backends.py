"""The full-text index on each database: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL.

Both are written by articles/publishing.py in the transaction of each change, deletions included;
neither has a foreign key, so Django's flush and the tests' truncation never trip on them.
Both store the tokens of articles/search/text.py so that a match can be told to be in the title
or elsewhere, and give each entry a key that orders it by publication time (search_key), so that
the newest matches of even a very common word are read first and the rest never have to be.
An entry's ``stocks`` are what its article is listed under: its stocks' codes and names, and a
token for each of its tags (text.tag_token; the column kept its first name).
"""

from django.db import connection

from .text import phrase, tag_token

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


class _Index:
    """What both indexes share; each names its ``key_column`` and ``article_id_column``."""

    def newest_sql(self, matches, few):
        """The article ids of ``matches`` (a FROM and WHERE), newest first, for LIMIT and OFFSET.

        Read in key order: each index entry is tested in turn until enough have matched.
        """
        return f"SELECT {self.article_id_column} {matches} ORDER BY {self.key_column} DESC LIMIT %s OFFSET %s"


class SqliteIndex(_Index):
    """The tokens live in an ordinary table whose integer key is the FTS5 table's rowid.

    FTS5 reads its matches in rowid order, so "newest first" costs nothing, and the article id is
    the rowid modulo KEY_ID_RANGE. Triggers keep the FTS5 index in step with the table. prefix='1'
    indexes every token's first character, for one-character words and words ending in one.
    """

    # The table the entries live in (created by migrations 0004 and 0005), one row per article.
    entries_table = "articles_search_document"
    key_column = "articles_search.rowid"
    article_id_column = f"articles_search.rowid %% {KEY_ID_RANGE}"

    def replace(self, cursor, rows):
        """Write the entries ``rows`` of (article id, key, title, body, stocks), replacing old ones."""
        self.delete(cursor, [row[0] for row in rows])
        self.insert(cursor, rows)

    def insert(self, cursor, rows):
        """Write the entries ``rows`` of articles that have none."""
        cursor.executemany(
            "INSERT INTO articles_search_document (article_id, key, title, body, stocks) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )

    def delete(self, cursor, ids):
        for chunk in _chunks(ids):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM articles_search_document WHERE article_id IN ({placeholders})", chunk)

    def match_sql(self, terms, tier="anywhere", tag_ids=()):
        """A condition on articles_search, and its params: every one of ``terms`` (query_terms'
        tuples) in the ``tier`` (anywhere, title, rest), or carried as a tag standing for it:
        ``tag_ids`` holds, for each term in order, the ids of such tags (SearchResults). A tag is
        in no title, so it counts for anywhere and rest alone."""
        expression = _expression(terms, tag_ids, _fts5_phrase, '"{}"', " AND ", " OR ")
        if tier == "title":
            expression = f"title : ({expression})"
        elif tier == "rest":
            expression = f"({expression}) NOT title : ({expression})"
        return "articles_search MATCH %s", [expression]


class PostgresIndex(_Index):
    """Per article, a tsvector of the title and one of everything, each GIN-indexed, and its key.

    The title has a vector of its own, not a weight within the other: PostgreSQL's statistics
    then tell how rare a word is in titles, and no match has to be read back to check its weight.
    The larger statistics target gives rare words (most of them) estimates near their true counts.
    """

    entries_table = "articles_search"
    key_column = "articles_search.key"
    article_id_column = "articles_search.article_id"

    def replace(self, cursor, rows):
        """Write the entries ``rows`` of (article id, key, title, body, stocks), replacing old ones."""
        cursor.executemany(
            "INSERT INTO articles_search (article_id, key, title, document) "
            "SELECT id, key, to_tsvector('simple', title), "
            "to_tsvector('simple', title) || to_tsvector('simple', body) || to_tsvector('simple', stocks) "
            "FROM (VALUES (%s, %s, %s, %s, %s)) AS entry (id, key, title, body, stocks) "
            "ON CONFLICT (article_id) DO UPDATE "
            "SET key = EXCLUDED.key, title = EXCLUDED.title, document = EXCLUDED.document",
            rows,
        )

    # An upsert already: one statement whether or not the article has an entry.
    insert = replace

    def delete(self, cursor, ids):
        if ids:
            cursor.execute("DELETE FROM articles_search WHERE article_id = ANY(%s)", [list(ids)])

    def newest_sql(self, matches, few):
        """The article ids of ``matches`` (a FROM and WHERE), newest first, for LIMIT and OFFSET.

        Walking the key index newest first and testing each entry is right when matches are many,
        and a full scan when they are few. PostgreSQL's estimates of a rare word are often too
        high, so when the count said few, the matches are gathered from the GIN index and sorted.
        """
        if few:
            return (
                f"WITH matches AS MATERIALIZED (SELECT {self.article_id_column} AS id, {self.key_column} AS key "
                f"{matches}) SELECT id FROM matches ORDER BY key DESC LIMIT %s OFFSET %s"
            )
        return super().newest_sql(matches, few)

    def match_sql(self, terms, tier="anywhere", tag_ids=()):
        """A condition on articles_search, and its params: every one of ``terms`` (query_terms'
        tuples) in the ``tier`` (anywhere, title, rest), or carried as a tag standing for it:
        ``tag_ids`` holds, for each term in order, the ids of such tags (SearchResults). A tag is
        in no title, so it counts for anywhere and rest alone."""
        query = _expression(terms, tag_ids, _tsquery_phrase, "{}", " & ", " | ")
        condition = {
            "anywhere": "articles_search.document @@ to_tsquery('simple', %s)",
            "title": "articles_search.title @@ to_tsquery('simple', %s)",
            "rest": "articles_search.document @@ to_tsquery('simple', %s) "
            "AND NOT articles_search.title @@ to_tsquery('simple', %s)",
        }[tier]
        return condition, [query] * condition.count("%s")


def _expression(terms, tag_ids, phrase_of, token_format, conjunction, disjunction):
    """Every term's phrase, each or the token of a tag standing for it (``tag_ids``, by term), in
    the syntax given: a phrase by ``phrase_of(term)``, a tag's token by ``token_format``. A tag
    named by a run of words stands for each of their terms, so it satisfies them together."""

    def either(term, ids):
        alternatives = [phrase_of(term), *(token_format.format(tag_token(tag_id)) for tag_id in ids)]
        return f"({disjunction.join(alternatives)})" if len(alternatives) > 1 else alternatives[0]

    return conjunction.join(either(term, ids) for term, ids in zip(terms, tag_ids or [()] * len(terms), strict=True))


def _fts5_phrase(term):
    # Tokens are only CJK characters, letters and digits (text.py), so quoting them is enough.
    return " + ".join(f'"{token}"' + (" *" if prefix else "") for token, prefix in phrase(term))


def _tsquery_phrase(term):
    return "(" + " <-> ".join(f"{token}:*" if prefix else token for token, prefix in phrase(term)) + ")"


def _chunks(items, size=500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def current_backend():
    return PostgresIndex() if connection.vendor == "postgresql" else SqliteIndex()
