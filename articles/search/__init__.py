"""Full-text search of articles, on SQLite and PostgreSQL alike (see text.py and backends.py)."""

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from articles.models import Article
from articles.sanitize import plain_text

from .backends import current_backend
from .text import index_text, query_terms

INDEX_BATCH_SIZE = 500


def index_articles(ids):
    """Bring the index entries of the articles ``ids`` up to date (deleted ones leave the index)."""
    ids = set(ids)
    backend = current_backend()
    rows = []
    for article in Article.objects.filter(id__in=ids).only("id", "title", "summary", "body").prefetch_related("stocks"):
        stocks = " ".join(f"{stock.code} {stock.name}" for stock in article.stocks.all())
        body = f"{article.summary} {plain_text(article.body)}"
        rows.append((article.id, index_text(article.title), index_text(body), index_text(stocks)))
    with connection.cursor() as cursor:
        backend.replace(cursor, rows)
        backend.delete(cursor, ids - {row[0] for row in rows})


def remove_articles(ids):
    with connection.cursor() as cursor:
        current_backend().delete(cursor, list(ids))


def rebuild_index(progress=None):
    """Index every article from scratch, in batches; ``progress(done, total)`` is told after each."""
    all_ids = list(Article.objects.order_by("id").values_list("id", flat=True))
    with transaction.atomic():
        with connection.cursor() as cursor:
            current_backend().delete_all(cursor)
        for start in range(0, len(all_ids), INDEX_BATCH_SIZE):
            index_articles(all_ids[start : start + INDEX_BATCH_SIZE])
            if progress:
                progress(min(start + INDEX_BATCH_SIZE, len(all_ids)), len(all_ids))
    return len(all_ids)


def matching_ids(query):
    """A subquery of the ids of all articles (drafts too) matching ``query``, for ``id__in``; None for no terms."""
    terms = query_terms(query)
    if not terms:
        return None
    sql, params = current_backend().matching_ids_sql(terms)
    return RawSQL(sql, params)


class SearchResults:
    """Ranked matches among ``candidates`` (a queryset), counted and sliced in SQL, as Paginator wants."""

    def __init__(self, query, candidates):
        self.terms = query_terms(query)
        self.candidates = candidates

    def _candidates_sql(self):
        return self.candidates.order_by().values("id").query.sql_with_params()

    def count(self):
        if not self.terms:
            return 0
        sql, params = current_backend().count_sql(self.terms, *self._candidates_sql())
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def __len__(self):
        return self.count()

    def __getitem__(self, page):
        if not self.terms:
            return []
        sql, params = current_backend().ranked_sql(self.terms, *self._candidates_sql())
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} LIMIT %s OFFSET %s", [*params, page.stop - page.start, page.start])
            ids = [row[0] for row in cursor.fetchall()]
        articles = Article.objects.select_related("category").in_bulk(ids)
        return [articles[article_id] for article_id in ids if article_id in articles]
