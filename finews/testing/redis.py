"""A Redis server of the test run's own, on a free port of 127.0.0.1.

Each test run starts one (two runs on one machine, or a run beside the site's own Redis, never
flush each other's keys), and each parallel worker takes a database of it.
"""

import os
import shutil
import subprocess
import tempfile
import time

from .server import free_port

URL_VARIABLE = "FINEWS_TEST_REDIS"


def start():
    """Start redis-server (Debian's ``redis-server``) without persistence; returns (process, base URL).

    Raises RuntimeError when it is not installed or does not answer within 10 s.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    folder = tempfile.mkdtemp(prefix="finews-redis-")
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redis-server did not start on port {port} (exit status {process.poll()})")
        time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}"


def worker_url():
    """This test worker's Redis database: TEST_REDIS_URL if given, else a database of the run's own
    server (gw0 uses 15, gw1 14, and so on: clearing a Django cache flushes a whole database)."""
    if os.environ.get("TEST_REDIS_URL"):
        return os.environ["TEST_REDIS_URL"]
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    return f"{os.environ[URL_VARIABLE]}/{15 - worker % 16}"
