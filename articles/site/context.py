"""What every public page's header shows: the channels (categories editors put there, in their order)."""

from django.core.cache import cache

from articles.caching import VERSION_FACTS_SECONDS, current_version, keys
from articles.models import Category, with_public_articles

CHANNELS_KEY = "finews:channels:{version}"


def channels(request):
    """``channels``: [(name, url)] of the categories with a 频道位置, in its order, read once per
    content version (no query while it is current). Pages name keys.CHANNELS and each channel's key."""
    if request.path.startswith("/admin/"):
        return {}
    shown = cache.get_or_set(CHANNELS_KEY.format(version=current_version()), _channels, VERSION_FACTS_SECONDS)
    keys.depends_on(keys.CHANNELS, *(keys.category(pk) for pk, _, _ in shown))
    return {"channels": [(name, url) for _, name, url in shown]}


def _channels():
    # Only those with a public article have a page.
    chosen = with_public_articles(Category.objects.filter(channel_position__isnull=False))
    chosen = chosen.order_by("channel_position", "name")
    return [(category.pk, category.display_name, category.get_absolute_url()) for category in chosen]
