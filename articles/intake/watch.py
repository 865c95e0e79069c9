"""Watching the scraper's folder: import new and changed posts as they arrive, until stopped."""

import os
import signal
import threading

from django.db import close_old_connections
from django.utils import timezone

from .importer import find_post_files


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
    while not stop.is_set():
        # The database may have restarted since the last cycle (long-lived process).
        close_old_connections()
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
