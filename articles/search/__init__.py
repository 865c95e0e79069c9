"""Full-text search of articles, on SQLite and PostgreSQL alike (see text.py and backends.py)."""

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils.functional import cached_property

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
    return RawSQL(*current_backend().matching_ids_sql(terms))


class SearchResults:
    """Matches among ``candidates`` (a queryset) in two tiers, as Paginator wants them.

    Relevance is where the words are: articles with every term in the title come first, then those
    with them anywhere; within a tier, newest first. Each tier is read from the article table's
    date order, so a page costs the same whether a word is rare or in half the articles.
    """

    def __init__(self, query, candidates):
        self.terms = query_terms(query)
        self.candidates = candidates

    def _tiers(self):
        backend = current_backend()
        in_title = RawSQL(*backend.matching_ids_sql(self.terms, title_only=True))
        anywhere = RawSQL(*backend.matching_ids_sql(self.terms))
        title_tier = self.candidates.filter(id__in=in_title)
        return title_tier, self.candidates.filter(id__in=anywhere).exclude(id__in=in_title)

    @cached_property
    def _counts(self):
        if not self.terms:
            return 0, 0
        title_tier, body_tier = self._tiers()
        return title_tier.count(), body_tier.count()

    def count(self):
        return sum(self._counts)

    def __len__(self):
        return self.count()

    def __getitem__(self, page):
        if not self.terms:
            return []
        title_count = self._counts[0]
        title_tier, body_tier = self._tiers()
        newest_first = ("-published_at", "-id")
        ids = []
        if page.start < title_count:
            ids += title_tier.order_by(*newest_first).values_list("id", flat=True)[page.start : page.stop]
        if page.stop > title_count:
            start = max(0, page.start - title_count)
            ids += body_tier.order_by(*newest_first).values_list("id", flat=True)[start : page.stop - title_count]
        articles = Article.objects.select_related("category").in_bulk(ids)
        return [articles[article_id] for article_id in ids if article_id in articles]
