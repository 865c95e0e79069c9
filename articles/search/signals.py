"""Keep the index current on every write, import and admin alike, once the transaction commits."""

from django.db import transaction

from . import index_articles, remove_articles


def article_saved(sender, instance, **kwargs):
    transaction.on_commit(lambda: index_articles([instance.pk]))


def article_deleted(sender, instance, **kwargs):
    transaction.on_commit(lambda: remove_articles([instance.pk]))


def article_stocks_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    # From the stock's side (stock.articles.add(...)) the articles are in pk_set.
    ids = list(pk_set or []) if reverse else [instance.pk]
    transaction.on_commit(lambda: index_articles(ids))


def stock_saved(sender, instance, created, **kwargs):
    if not created:
        ids = list(instance.articles.values_list("id", flat=True))
        transaction.on_commit(lambda: index_articles(ids))
