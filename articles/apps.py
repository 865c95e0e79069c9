from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "新闻"

    def ready(self):
        from finews.database import read_times_beyond_python

        from .caching import announce_migrated_content
        from .roles import ensure_editor_group
        from .search import index_unindexed_articles

        # After auth has created this app's permissions (its receiver is connected first).
        post_migrate.connect(ensure_editor_group, sender=self, dispatch_uid="articles.ensure_editor_group")
        # Migrations hold no live code: entries an index migration dropped are written here.
        post_migrate.connect(index_unindexed_articles, sender=self, dispatch_uid="articles.index_unindexed")
        # A data migration changes what pages show without a write through publishing.
        post_migrate.connect(announce_migrated_content, sender=self, dispatch_uid="articles.announce_migrated")
        connection_created.connect(read_times_beyond_python, dispatch_uid="finews.read_times_beyond_python")
