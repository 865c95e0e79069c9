from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "新闻"

    def ready(self):
        from .caching import content_changed
        from .models import Article, Category, StockReference, Tag, TaggedArticle
        from .roles import ensure_editor_group
        from .search import signals as search_signals

        for model in (Article, Category, Tag, TaggedArticle, StockReference):
            post_save.connect(content_changed, sender=model, dispatch_uid=f"cache-save-{model.__name__}")
            post_delete.connect(content_changed, sender=model, dispatch_uid=f"cache-delete-{model.__name__}")
        m2m_changed.connect(content_changed, sender=Article.stocks.through, dispatch_uid="cache-stocks")

        post_save.connect(search_signals.article_saved, sender=Article, dispatch_uid="search-article-saved")
        post_delete.connect(search_signals.article_deleted, sender=Article, dispatch_uid="search-article-deleted")
        m2m_changed.connect(
            search_signals.article_stocks_changed, sender=Article.stocks.through, dispatch_uid="search-stocks"
        )
        post_save.connect(search_signals.stock_saved, sender=StockReference, dispatch_uid="search-stock-saved")

        # After auth has created this app's permissions (its receiver is connected first).
        post_migrate.connect(ensure_editor_group, sender=self, dispatch_uid="articles.ensure_editor_group")
