"""The invalidation rules the reading day compares with finews's own, chosen by BENCH_RULE.

bench/settings.py applies them in every process of a bench run (gunicorn's workers, each import):
the production code has no switch for them.

- ``precise``: finews as it is (articles/caching/keys.py);
- ``simpler-addresses``: an article page's previous/next links keyed by its category's list, and
  an archive page's links to the periods around it by ``site``: what the neighbour and period keys
  save is the difference with ``precise``;
- ``everything``: the rule before surrogate keys, every change purges every page.
"""

import os


def apply(rule=None):
    from articles.caching import keys

    rule = rule or os.environ.get("BENCH_RULE", "precise")
    if rule == "everything":
        keys.article_change = lambda *args, **kwargs: {keys.ALL}
        keys.topic_change = lambda *args, **kwargs: {keys.ALL}
        keys.became_oldest = lambda after: set()
    elif rule == "simpler-addresses":
        keys.neighbourhood = lambda category_id, *args: [keys.category_list(category_id)]
        keys.article_change = _without_neighbour_keys(keys.article_change)
        keys.became_oldest = lambda after: set()


def apply_to_views(rule=None):
    """The archive's part of ``simpler-addresses`` (the views load after the settings)."""
    rule = rule or os.environ.get("BENCH_RULE", "precise")
    if rule == "simpler-addresses":
        from articles.caching import keys
        from articles.site import views

        views.ArchiveMixin._between_neighbours = lambda self, context: [keys.SITE]


def _without_neighbour_keys(article_change):
    def change(*args, **kwargs):
        return {key for key in article_change(*args, **kwargs) if not key.startswith(("n", "cn", "co"))}

    return change
