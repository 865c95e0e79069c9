"""Who has an article's form open (issue 25): a notice for the other editors, not a lock.

Each open form sends a heartbeat (static/admin/desk.js, every HEARTBEAT_SECONDS); an editor whose
last one is older than GONE_AFTER_SECONDS has left. Kept in the shared cache (Redis in
production), one entry per article, so every process sees the same editors; losing it loses
only the notice. Two heartbeats racing may drop one of them until the next: a notice may lag by
one beat, which is all a notice needs.
"""

import time

from django.core.cache import cache

from .roles import person_name

HEARTBEAT_SECONDS = 30
GONE_AFTER_SECONDS = 75
KEY = "finews:editing:{pk}"


def heartbeat(article_pk, user, now=None):
    """Record that ``user`` has the form of ``article_pk`` open; return the others who do, as
    [{"name", "since"}] (``since``: Unix seconds they opened it), earliest first."""
    now = now or time.time()
    key = KEY.format(pk=article_pk)
    present = {
        user_id: entry for user_id, entry in (cache.get(key) or {}).items() if now - entry["seen"] < GONE_AFTER_SECONDS
    }
    since = present.get(user.pk, {}).get("since", now)
    present[user.pk] = {"name": person_name(user), "since": since, "seen": now}
    cache.set(key, present, GONE_AFTER_SECONDS)
    others = [entry for user_id, entry in present.items() if user_id != user.pk]
    return sorted(({"name": entry["name"], "since": entry["since"]} for entry in others), key=lambda e: e["since"])


def leave(article_pk, user):
    """Forget that ``user`` has the form of ``article_pk`` open (the page was left)."""
    key = KEY.format(pk=article_pk)
    present = cache.get(key) or {}
    if present.pop(user.pk, None) is not None:
        cache.set(key, present, GONE_AFTER_SECONDS)
