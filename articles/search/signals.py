"""Keep the index current on every write, import and admin alike, once the transaction commits."""

import threading

from django.db import transaction

from . import index_articles, remove_articles

_pending = threading.local()


def _schedule(ids):
    """Index ``ids`` once the transaction commits; an article saved several times is indexed once.

    Every call registers a callback, and the first to run indexes all that is pending; ids left
    over from a rolled-back transaction are indexed (or, being gone, removed) by the next one.
    """
    pending = getattr(_pending, "ids", None)
    if pending is None:
        pending = _pending.ids = set()
    pending.update(ids)
    transaction.on_commit(_index_pending)


def _index_pending():
    ids = getattr(_pending, "ids", None)
    if ids:
        _pending.ids = set()
        index_articles(ids)


def article_saved(sender, instance, **kwargs):
    _schedule([instance.pk])


def article_deleted(sender, instance, **kwargs):
    transaction.on_commit(lambda: remove_articles([instance.pk]))


def article_stocks_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    # From the stock's side (stock.articles.add(...)) the articles are in pk_set.
    _schedule(list(pk_set or []) if reverse else [instance.pk])


def stock_saved(sender, instance, created, **kwargs):
    if not created:
        _schedule(instance.articles.values_list("id", flat=True))
