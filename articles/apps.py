from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "新闻"

    def ready(self):
        from .roles import ensure_editor_group

        # After auth has created this app's permissions (its receiver is connected first).
        post_migrate.connect(ensure_editor_group, sender=self, dispatch_uid="articles.ensure_editor_group")
