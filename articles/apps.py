from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "新闻"

    def ready(self):
        from .models import Article, StockReference
        from .roles import ensure_editor_group
        from .search import index_unindexed_articles
        from .search import signals as search_signals

        # The search index follows every write of the rows it copies, whoever makes it (the cache
        # is told by articles/publishing.py, which knows what a change means to readers).
        post_save.connect(search_signals.article_saved, sender=Article, dispatch_uid="search-article-saved")
        post_delete.connect(search_signals.article_deleted, sender=Article, dispatch_uid="search-article-deleted")
        m2m_changed.connect(
            search_signals.article_stocks_changed, sender=Article.stocks.through, dispatch_uid="search-stocks"
        )
        post_save.connect(search_signals.stock_saved, sender=StockReference, dispatch_uid="search-stock-saved")

        # After auth has created this app's permissions (its receiver is connected first).
        post_migrate.connect(ensure_editor_group, sender=self, dispatch_uid="articles.ensure_editor_group")
        # Migrations hold no live code: entries an index migration dropped are written here.
        post_migrate.connect(index_unindexed_articles, sender=self, dispatch_uid="articles.index_unindexed")
