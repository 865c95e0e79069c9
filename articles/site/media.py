"""Cover images served by the site itself, from MEDIA_ROOT (WhiteNoise serves static files only).

Used where uploads are on the web hosts' disk: in development, and behind gunicorn in production
unless the proxy serves MEDIA_ROOT or MEDIA_STORAGE_BACKEND puts covers on object storage. Only
image files are served, under the type their extension says (uploads are re-encoded, so the
bytes are what the extension says), and a cache in front may keep them: a stored name never
changes its content.
"""

import datetime as dt
import os

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404
from django.utils._os import safe_join
from django.views.decorators.http import condition, require_safe

IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
MAX_AGE_SECONDS = 30 * 24 * 3600


def _full_path(path):
    try:
        return safe_join(settings.MEDIA_ROOT, path)
    except SuspiciousFileOperation:
        raise Http404("没有这个文件。") from None


def _stored_at(request, path):
    """A stored cover never changes: its file's time answers If-Modified-Since."""
    full_path = _full_path(path)
    return dt.datetime.fromtimestamp(os.stat(full_path).st_mtime, tz=dt.UTC) if os.path.isfile(full_path) else None


@require_safe
@condition(last_modified_func=_stored_at)
def cover_image(request, path):
    content_type = IMAGE_TYPES.get(os.path.splitext(path)[1].lower())
    full_path = _full_path(path)
    if content_type is None or not os.path.isfile(full_path):
        raise Http404("没有这个文件。")
    response = FileResponse(open(full_path, "rb"), content_type=content_type)  # noqa: SIM115 (closed by Django)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
    # An image is never a document: nothing in it may run, even opened on its own.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
