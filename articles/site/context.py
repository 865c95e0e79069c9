"""What every public page's header and footer show: the channels (categories editors put there, in
their order) and the addresses of the site's own pages."""

import functools

from django.urls import get_script_prefix, get_urlconf, reverse

from articles.caching import current_version, keys, version_facts
from articles.models import Category, with_public_articles

CHANNELS_KEY = "finews:channels:{version}"
# The pages base.html links to on every page, by the names site_urls gives them.
SITE_URL_NAMES = {
    "home": "articles:home",
    "live": "articles:live",
    "categories": "articles:category-index",
    "archive": "articles:archive",
    "search": "articles:search",
    "feed": "articles:feed",
}


def channels(request):
    """``channels``: [(name, url)] of the categories with a 频道位置, in its order, read once per
    content version (no query while it is current). Pages name keys.CHANNELS and each channel's key.
    ``site_urls``: {name in SITE_URL_NAMES: address}, e.g. ``{"home": "/", "feed": "/feed.xml", …}``."""
    if request.path.startswith("/admin/"):
        return {}
    shown = version_facts(CHANNELS_KEY.format(version=current_version()), _channels)
    keys.depends_on(keys.CHANNELS, *(keys.category(pk) for pk, _, _ in shown))
    return {
        "channels": [(name, url) for _, name, url in shown],
        "site_urls": _site_urls(get_script_prefix(), get_urlconf()),
    }


@functools.lru_cache(maxsize=8)
def _site_urls(script_prefix, urlconf):
    # Reversed once per prefix and URLconf (what reverse() reads), not 7 times on every page: a
    # reverse() was about 50 µs, 6 % of an article page.
    return {name: reverse(view_name, urlconf=urlconf) for name, view_name in SITE_URL_NAMES.items()}


def _channels():
    # Only those with a public article have a page.
    chosen = with_public_articles(Category.objects.filter(channel_position__isnull=False))
    chosen = chosen.order_by("channel_position", "name")
    return [(category.pk, category.display_name, category.get_absolute_url()) for category in chosen]
