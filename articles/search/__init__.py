"""Full-text search of articles, on SQLite and PostgreSQL alike (see text.py and backends.py).

The index is written by articles/publishing.py in the transaction of each change (index_article,
index_articles, remove_articles): what is committed is searchable, and what is rolled back
leaves no entry behind. An entry holds an article's title, its summary and body, and what it is
listed under: its stocks' codes and names, and a token for each of its tags (text.tag_token), so
that a query naming a tag finds the articles carrying it (names.py), as the tag's page lists them.
"""

from typing import NamedTuple

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr
from django.utils.functional import cached_property

from articles.models import Article
from articles.sanitize import plain_text

from .backends import current_backend, key_range, search_key
from .names import folded, names_in, tags_named
from .text import MAX_INDEXED_CHARACTERS, index_text, query_terms, tag_token

INDEX_BATCH_SIZE = 500
# Readers page through at most this many results, and the admin lists at most this many
# matches: enough to find an article, and what keeps a word in half of all articles fast.
MAX_RESULTS = 1000
# A result's snippet is made from at most this many characters of its body's HTML (``body_start``),
# never the whole body: a 19 MB article made every search matching it take 2.2 s. The index holds
# the first MAX_INDEXED_CHARACTERS characters of the text, and markup rarely takes three times the
# text it wraps; a match further in is shown from the body's start.
SNIPPET_SOURCE_CHARACTERS = 4 * MAX_INDEXED_CHARACTERS


class ArticleText(NamedTuple):
    """The index tokens of an article's title and of its summary and body (article_text)."""

    title: str
    summary: str
    body: str
    title_tokens: str
    body_tokens: str

    def of(self, article):
        """Whether these are the tokens of ``article``'s title, summary and body as they are now."""
        return (self.title, self.summary, self.body) == (article.title, article.summary, article.body)


def article_text(title, summary, body):
    """The ArticleText of an article titled ``title`` with ``summary`` and ``body`` (its HTML), made
    before it is saved: the import makes them with the parsing (in its workers, with --workers)."""
    return ArticleText(title, summary, body, index_text(title), index_text(f"{summary} {plain_text(body)}"))


def index_entry(article, stocks, tag_ids, text=None):
    """The index row of ``article`` mentioning the StockReferences ``stocks`` and carrying the tags
    ``tag_ids``; ``text``, an ArticleText made beforehand, is used if it is of the article as it is."""
    if text is None or not text.of(article):
        text = article_text(article.title, article.summary, article.body)
    stock_text = index_text(" ".join(f"{stock.code} {stock.name}" for stock in stocks))
    # Sorted: an entry is the same whatever order the tags came in.
    listed_under = " ".join([stock_text, *(tag_token(tag_id) for tag_id in sorted(tag_ids))]).strip()
    return (
        article.id,
        search_key(article.published_at, article.id),
        text.title_tokens,
        text.body_tokens,
        listed_under,
    )


def index_article(article, stocks, tag_ids, new=False, text=None):
    """Write the index entry of ``article`` (as saved) mentioning the StockReferences ``stocks`` and
    carrying the tags ``tag_ids``; ``new``: the article was created in this transaction, so it has
    no entry to replace yet; ``text``: its ArticleText, if made beforehand (index_entry)."""
    backend = current_backend()
    with connection.cursor() as cursor:
        (backend.insert if new else backend.replace)(cursor, [index_entry(article, stocks, tag_ids, text)])


def index_articles(ids):
    """Bring the index entries of the articles ``ids`` up to date (deleted ones leave the index),
    INDEX_BATCH_SIZE articles at a time: a tag merged or deleted, or a stock renamed, names every
    article it is on (tens of thousands for a source's tag), whose bodies are read to be indexed
    and whose ids SQLite takes at most 32,766 to a statement."""
    ids = sorted(set(ids))
    backend = current_backend()
    for start in range(0, len(ids), INDEX_BATCH_SIZE):
        batch = ids[start : start + INDEX_BATCH_SIZE]
        articles = Article.objects.filter(id__in=batch).only("id", "title", "summary", "body", "published_at")
        rows = [
            index_entry(article, article.stocks.all(), [item.tag_id for item in article.tagged_items.all()])
            for article in articles.prefetch_related("stocks", "tagged_items")
        ]
        with connection.cursor() as cursor:
            backend.replace(cursor, rows)
            backend.delete(cursor, set(batch) - {row[0] for row in rows})


def remove_articles(ids):
    """Take the articles ``ids`` out of the index."""
    ids = list(ids)
    if ids:
        with connection.cursor() as cursor:
            current_backend().delete(cursor, ids)


def rebuild_index(progress=None):
    """Write every article's index entry again, INDEX_BATCH_SIZE articles a transaction, and take
    out entries whose article is gone; ``progress(done, total)`` is told after each batch. Returns
    the number of articles.

    In place: search answers throughout from the entries not yet rewritten, and a write waits on a
    batch, not on the whole rebuild (about 17 s per 10,000 articles on SQLite).
    """
    all_ids = list(Article.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, len(all_ids), INDEX_BATCH_SIZE):
        with transaction.atomic():
            index_articles(all_ids[start : start + INDEX_BATCH_SIZE])
        if progress:
            progress(min(start + INDEX_BATCH_SIZE, len(all_ids)), len(all_ids))
    _take_out_entries_of_gone_articles()
    return len(all_ids)


def _take_out_entries_of_gone_articles():
    # Rows deleted around the write path (SQL; a test database's flush, which knows no index table).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {current_backend().entries_table} WHERE article_id NOT IN (SELECT id FROM articles_article)"
        )


def index_unindexed_articles(using="default", **kwargs):
    """Index every article that has no entry, in batches, and take out the entries whose article
    is gone: after migrate (an index migration leaves the index empty, the migration itself
    holding no live code), after an interrupted rebuild, and after a flush (post_migrate too)."""
    backend = current_backend()
    if using != "default" or backend.entries_table not in connection.introspection.table_names():
        return 0
    _take_out_entries_of_gone_articles()
    indexed = RawSQL(f"SELECT article_id FROM {backend.entries_table}", ())
    missing = list(Article.objects.exclude(id__in=indexed).order_by("id").values_list("id", flat=True))
    for start in range(0, len(missing), INDEX_BATCH_SIZE):
        with transaction.atomic():
            index_articles(missing[start : start + INDEX_BATCH_SIZE])
    return len(missing)


def matching_ids(query):
    """The ids of the newest MAX_RESULTS articles (drafts too) matching ``query``; None for no terms."""
    results = SearchResults(query, Article.objects.all())
    return results.newest_ids(MAX_RESULTS) if results.terms else None


class SearchResults:
    """Matches among ``candidates`` (a queryset) in two tiers, as Paginator wants them.

    Relevance is where the words are: articles with every term in the title come first, then those
    with each term anywhere else or carried as a tag that stands for it (a tag a word written for
    the term names, or a run of several words including one: ``tags``); within a tier, newest
    first. Every query reads the index's matches in key order (newest first) and checks each
    against ``candidates`` by primary key, stopping once it has what it needs, so a page costs
    about the same whether a word is rare or in half of all articles. Counts stop at MAX_RESULTS,
    and so do the pages (``truncated`` tells a reader).
    """

    def __init__(self, query, candidates, published_after=None, published_before=None):
        """``published_after`` and ``published_before``, when the candidates are narrowed to such
        dates, let the index skip the matches outside them instead of checking each."""
        self.terms = query_terms(query)
        self._names = names_in(query)
        self.candidates = candidates
        self.keys = key_range(published_after, published_before)

    @cached_property
    def tags(self):
        """The Tags that a word of the query, or a run of several of its words, names, case and
        width aside (names.names_in, names.tags_named)."""
        return tags_named([name for name, _ in self._names]) if self.terms else []

    @cached_property
    def _tag_ids(self):
        """For each term, in order, the ids of ``tags`` that stand for it: those named by a word
        written for it, or by a run of words one of which is (Federal Reserve stands for both
        federal and reserve, so 降息 alone must be in the text of an article carrying it)."""
        ids = {}
        for tag in self.tags:
            ids.setdefault(folded(tag.name), []).append(tag.pk)
        numbers = {term: number for number, term in enumerate(self.terms)}
        by_term = [[] for _ in self.terms]
        for name, terms in self._names:
            for term in terms:
                by_term[numbers[term]] += ids.get(folded(name), ())
        return tuple(tuple(dict.fromkeys(tag_ids)) for tag_ids in by_term)

    def _matches(self, tier):
        """The FROM and WHERE of the ``tier``'s matches that are candidates, and their params."""
        backend = current_backend()
        condition, params = backend.match_sql(self.terms, tier, self._tag_ids)
        candidate = self.candidates.order_by().filter(pk=RawSQL(backend.article_id_column, ())).values("pk")
        candidate_sql, candidate_params = candidate.query.sql_with_params()
        return (
            f"FROM articles_search WHERE {condition} AND {backend.key_column} >= %s AND {backend.key_column} < %s "
            f"AND EXISTS ({candidate_sql})",
            [*params, *self.keys, *candidate_params],
        )

    def _count(self, tier, limit):
        sql, params = self._matches(tier)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 {sql} LIMIT %s) AS capped", [*params, limit])
            return cursor.fetchone()[0]

    def _ids(self, tier, start, stop, few):
        """Ids start:stop of the ``tier``'s matches, newest first; ``few`` when all of them were counted."""
        sql, params = self._matches(tier)
        with connection.cursor() as cursor:
            cursor.execute(current_backend().newest_sql(sql, few), [*params, stop - start, start])
            return [row[0] for row in cursor.fetchall()]

    def newest_ids(self, limit):
        """The ids of the newest ``limit`` matches, title or not."""
        few = self._count("anywhere", limit + 1) <= limit
        return self._ids("anywhere", 0, limit, few)

    @cached_property
    def _counts(self):
        """Matches in the title tier and in the rest, together at most MAX_RESULTS + 1."""
        if not self.terms:
            return 0, 0
        in_title = self._count("title", MAX_RESULTS + 1)
        return in_title, self._count("rest", MAX_RESULTS + 1 - in_title) if in_title <= MAX_RESULTS else 0

    @property
    def truncated(self):
        """Whether there are more matches than the MAX_RESULTS a reader can page through."""
        return sum(self._counts) > MAX_RESULTS

    def count(self):
        return min(sum(self._counts), MAX_RESULTS)

    def __len__(self):
        return self.count()

    def __getitem__(self, page):
        if not self.terms:
            return []
        start, stop = page.start or 0, min(page.stop, self.count())
        if start >= stop:
            return []
        in_title = self._counts[0]
        ids = []
        if start < in_title:
            ids += self._ids("title", start, min(stop, in_title), few=in_title <= MAX_RESULTS)
        if stop > in_title:
            ids += self._ids("rest", max(0, start - in_title), stop - in_title, few=not self.truncated)
        articles = (
            Article.objects.select_related("category")
            .defer("body")
            .annotate(body_start=Substr("body", 1, SNIPPET_SOURCE_CHARACTERS))
            .in_bulk(ids)
        )
        return [articles[article_id] for article_id in ids if article_id in articles]
