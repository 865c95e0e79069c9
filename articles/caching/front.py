"""Purging the front caches (Varnish with vmod-xkey, deploy/varnish/finews.vcl) by surrogate key.

Each Varnish in ``FRONT_CACHE_URLS`` gets ``PURGE /`` with the keys in an ``xkey-purge`` header;
Varnish accepts it only from the addresses its VCL allows. A purge that fails after its retries is
logged and given up:
a save never fails for it, and the pages it missed expire by their TTL (``FRONT_CACHE_SECONDS``).
"""

import http.client
import logging
import time
import urllib.parse

from django.conf import settings

logger = logging.getLogger(__name__)

# Sent with each purge, and with each page finews shares (the announcement it had seen when it
# began the page): Varnish keeps no page begun before an announcement it has already purged.
ANNOUNCED_HEADER = "X-Announced"
RETRIES = 3
RETRY_PAUSE_SECONDS = 0.1
TIMEOUT_SECONDS = 2
# Varnish refuses request headers over 8 KB (http_req_hdr_len): keys go in batches well below it.
KEYS_PER_REQUEST = 400


def purge(affected, announced):
    """Send ``affected`` keys of announcement number ``announced`` to every front cache; returns
    the URLs that did not take them."""
    failed = []
    keys = sorted(affected)
    for url in settings.FRONT_CACHE_URLS:
        for start in range(0, len(keys), KEYS_PER_REQUEST):
            batch = keys[start : start + KEYS_PER_REQUEST]
            if not _purge_with_retries(url, batch, announced):
                failed.append(url)
                break
    return failed


def _purge_with_retries(url, keys, announced):
    for attempt in range(1, RETRIES + 1):
        try:
            status = _send(url, keys, announced)
        except OSError as error:
            problem = f"{type(error).__name__}: {error}"
        else:
            if status == 200:
                return True
            problem = f"HTTP {status}"
        if attempt < RETRIES:
            time.sleep(RETRY_PAUSE_SECONDS * attempt)
    logger.error(
        "Front cache purge failed url=%s keys=%d problem=%s; the pages expire within FRONT_CACHE_SECONDS=%s",
        url,
        len(keys),
        problem,
        settings.FRONT_CACHE_SECONDS,
    )
    return False


def _send(url, keys, announced):
    parts = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
    try:
        headers = {"xkey-purge": " ".join(keys), ANNOUNCED_HEADER: str(announced)}
        connection.request("PURGE", parts.path or "/", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()
