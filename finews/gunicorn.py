"""gunicorn settings for finews: ``gunicorn -c python:finews.gunicorn finews.wsgi``.

Every worker counts its metrics into a folder of files that /metrics adds up (prometheus-client's
multiprocess mode): PROMETHEUS_MULTIPROC_DIR if set, else a temporary folder of this server's own.
Only the web server sets it, so that the import and other commands (new processes every few
minutes) leave no files of their own there. The folder is emptied at start; a worker that exits has
its live gauges dropped.
"""

import os
import shutil
import tempfile

_given_folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
METRICS_FOLDER = _given_folder or tempfile.mkdtemp(prefix="finews-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_FOLDER

# Only now: prometheus-client picks its multiprocess mode from the variable when first imported,
# and the workers are forked from this process.
from prometheus_client import multiprocess  # noqa: E402

# gunicorn's control socket (gunicornc) would be $HOME/.gunicorn/gunicorn.ctl: in the checkout on the
# host of deploy/ (the finews user's home), and one socket for every gunicorn sharing a home (the
# tests'). finews never uses it: an upgrade restarts finews-web (README: Production).
control_socket_disable = True


def on_starting(server):
    # Counts from an earlier run of the server are not this one's.
    shutil.rmtree(METRICS_FOLDER, ignore_errors=True)
    os.makedirs(METRICS_FOLDER)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if not _given_folder:
        shutil.rmtree(METRICS_FOLDER, ignore_errors=True)
