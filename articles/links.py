"""Lists leave out a row they cannot link to, rather than fail as a whole.

Validation keeps unroutable codes and slugs out (validators.py), but a row written by SQL or by an
old version may still hold one, and its get_absolute_url() raises NoReverseMatch: in a template
that would make every page listing it answer 500. Such a row is left out of the list and logged.
"""

import logging

from django.core.paginator import Paginator
from django.urls import NoReverseMatch

logger = logging.getLogger("articles.links")


def has_url(obj):
    try:
        obj.get_absolute_url()
    except NoReverseMatch:
        logger.warning("%s %s has no URL (a stored code or slug a URL cannot carry); left out of the page",
                       obj._meta.verbose_name, obj.pk)  # fmt: skip
        return False
    return True


def article_has_urls(article):
    """The article and its category both have pages (a list item links to both)."""
    return has_url(article) and has_url(article.category)


def linkable(objects, check=has_url):
    return [obj for obj in objects if check(obj)]


def linkable_articles(articles):
    return linkable(articles, article_has_urls)


class Linkable:
    """``rows`` (a queryset) as a paginator or sitemap reads it: counted whole, every slice without
    the rows that ``check`` finds have no URL (a page may then be a row short)."""

    def __init__(self, rows, check=has_url):
        self.rows, self.check = rows, check

    def count(self):
        return self.rows.count()

    def __getitem__(self, index):
        return linkable(self.rows[index], self.check)

    def __iter__(self):
        return (row for row in self.rows.iterator() if self.check(row))


class LinkablePaginator(Paginator):
    """A paginator of articles whose pages leave out articles without URLs."""

    def _get_page(self, object_list, *args, **kwargs):
        return super()._get_page(linkable_articles(object_list), *args, **kwargs)
