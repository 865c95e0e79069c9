"""Watching the scraper's folder: import new and changed posts as they arrive, until stopped."""

import logging
import os
import signal
import threading

from django.db import close_old_connections
from django.utils import timezone

from .importer import find_post_files

logger = logging.getLogger("articles.intake")


def file_states(paths):
    """{path: (why it cannot be read or None, size, modification time)} of every post under ``paths``."""
    states = {}
    for path, error in find_post_files(paths):
        try:
            stat = os.lstat(path) if error else os.stat(path)
        except OSError:
            continue
        states[path] = (error, stat.st_size, stat.st_mtime_ns)
    return states


def watch(paths, importer, interval, report_cycle):
    """Import every post once, then each new or changed one every ``interval`` seconds.

    ``report_cycle(reports, started_at)`` is told what each cycle did. Returns on SIGTERM or SIGINT,
    after finishing the file in hand.
    """
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *args: stop.set())
    seen = {}
    missing = set()
    while not stop.is_set():
        # The database may have restarted since the last cycle (long-lived process).
        close_old_connections()
        missing = _say_what_is_missing(paths, missing)
        started_at = timezone.now()
        changed = [(path, state) for path, state in file_states(paths).items() if seen.get(path) != state]
        reports = []
        for report, (path, state) in zip(
            importer.import_files([(path, state[0]) for path, state in changed]), changed, strict=True
        ):
            reports.append(report)
            seen[path] = state
            if stop.is_set():
                break
        report_cycle(reports, started_at)
        stop.wait(interval)


def _say_what_is_missing(paths, missing_before):
    """Log each of ``paths`` that has gone missing (a folder never made, or removed), and each that is
    back; returns the set missing now. A missing folder is watched for, not an error: the scraper may
    make it later. Without this, a watcher given a wrong path would wait in silence forever."""
    missing = {path for path in paths if not os.path.lexists(path)}
    for path in sorted(missing - missing_before):
        logger.warning("import_posts --watch: %s does not exist; watching for it to appear", path)
    for path in sorted(missing_before - missing):
        logger.info("import_posts --watch: %s is there now", path)
    return missing
