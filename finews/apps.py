"""Django's admin, its ModelAdmins registered when something needs them rather than at every start-up."""

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


class AdminConfig(SimpleAdminConfig):
    """The admin without autodiscovery in django.setup(): the URLconf (finews/urls.py) and the system
    checks import the apps' admin.py modules. Those pull in reversion-compare (and rich), the body
    editor and the import's reasons in Chinese: an eighth of the start-up of a process that never
    shows an admin page (import_posts from cron, the other commands)."""

    def ready(self):
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(check_discovered_admin, checks.Tags.admin)


def check_discovered_admin(app_configs, **kwargs):
    """Django's checks of every ModelAdmin, after registering them: the checks run in no set order,
    so the URLconf's check may not have loaded them yet."""
    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)
