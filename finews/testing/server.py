"""gunicorn serving finews on a free port of 127.0.0.1, for tests, benchmarks and Lighthouse runs."""

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(environment, workers=2, timeout=30):
    """Yield the base URL of a gunicorn serving finews with ``environment``, once /healthz answers.

    It runs with the project's gunicorn settings (finews/gunicorn.py), as in production.
    """
    port = free_port()
    command = [GUNICORN, "-c", "python:finews.gunicorn", "finews.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(url, process, "gunicorn", timeout)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


class Servers:
    """gunicorns kept running until ``close()``, one for each configuration asked for: a test
    session's, so that tests asking for the same configuration share one server.

    ``get(key, environment, workers)`` returns the base URL of the server started for ``key`` (any
    hashable naming what the server is: its settings, not the folders it happens to use), starting
    it with ``environment`` on the first call; later calls with that key get the same server.
    """

    def __init__(self):
        self._urls = {}
        self._running = contextlib.ExitStack()

    def get(self, key, environment, workers=2):
        if key not in self._urls:
            self._urls[key] = self._running.enter_context(gunicorn(environment, workers=workers))
        return self._urls[key]

    def close(self):
        self._running.close()
        self._urls.clear()


def wait_until_answering(url, process, name, timeout=30):
    """Wait until ``url``/healthz answers; fail if ``process`` (called ``name``) exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start (exit status {process.poll()})") from None
            time.sleep(0.05)
