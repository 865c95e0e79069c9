"""Throwaway PostgreSQL servers on free ports of 127.0.0.1: a primary, and streaming replicas of it.

From Debian's PostgreSQL binaries (``apt-get install postgresql``: /usr/lib/postgresql/<version>/bin,
or the folder in ``PG_BIN``), in temporary folders, with trust authentication for ``postgres`` on
127.0.0.1 only. PostgreSQL refuses to run as root, so when this runs as root (CI does) the servers
run as the ``postgres`` user that Debian's package creates.

    with postgres.primary() as primary, postgres.replica_of(primary) as replica:
        primary.sql("CREATE DATABASE finews")
        replica.url("finews")  # "postgres://postgres@127.0.0.1:<port>/finews"

As a command, it runs the test suite's PostgreSQL pass (scripts/test) on a server that answers, or
on one of its own:

    python -m finews.testing.postgres [--usual HOST:PORT] COMMAND [ARGUMENT ...]
"""

import argparse
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from .server import free_port

# Run as this user when started by root.
UNPRIVILEGED_USER = "postgres"


def binaries():
    """The folder of initdb, pg_ctl and pg_basebackup: PG_BIN, or Debian's newest; None if missing."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    return found[-1].parent if found else None


def installed():
    folder = binaries()
    return folder is not None and (folder / "initdb").exists()


class Server:
    """One PostgreSQL server of ours: its data folder, port and log."""

    def __init__(self, folder, port, log_statements):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.port = port
        self.log = self.folder / "server.log"
        self.log_statements = log_statements

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self):
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            "-c unix_socket_directories=''",
            # Throwaway data: nothing needs to survive a crash of this machine.
            "-c fsync=off",
            "-c full_page_writes=off",
        ]
        if self.log_statements:
            options.append("-c log_statement=all")
        _run([_binary("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", " ".join(options), "start"])

    def stop(self, mode="fast"):
        """Stop the server (``mode``: pg_ctl's smart, fast or immediate); a stopped server is left alone."""
        if (self.data / "postmaster.pid").exists():
            _run([_binary("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"])

    def sql(self, statement, parameters=(), database="postgres"):
        """Run ``statement`` in autocommit; returns its rows (a list of tuples), or [] when it has none."""
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(statement, parameters)
            return cursor.fetchall() if cursor.description else []

    def statements(self):
        """What the server logged (``log_statements=True``: every statement run on it)."""
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def primary(log_statements=False):
    """Yield a new, empty PostgreSQL server (a Server) that accepts replication from 127.0.0.1."""
    with _folder("finews-postgres-") as folder:
        server = Server(folder, free_port(), log_statements)
        # Trust for local connections: initdb's pg_hba.conf then also lets 127.0.0.1 replicate.
        _run(
            [
                _binary("initdb"),
                "--no-sync",
                "-D",
                server.data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")


@contextlib.contextmanager
def replica_of(primary_server, log_statements=False):
    """Yield a streaming replica (a Server) of ``primary_server``, made by ``pg_basebackup -R``."""
    with _folder("finews-replica-") as folder:
        server = Server(folder, free_port(), log_statements)
        _run(
            [
                _binary("pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(primary_server.port), "-U", "postgres"),
                *("-D", server.data, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"),
            ]
        )
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")


def wait_until_replayed(primary_server, replica, timeout=30):
    """Wait until ``replica`` has replayed everything ``primary_server`` has written so far."""
    position = primary_server.sql("SELECT pg_current_wal_lsn()")[0][0]
    deadline = time.monotonic() + timeout
    while not replica.sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,))[0][0]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the replica on port {replica.port} did not replay {position} within {timeout} s")
        time.sleep(0.05)


@contextlib.contextmanager
def _folder(prefix):
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        if os.geteuid() == 0:
            account = pwd.getpwnam(UNPRIVILEGED_USER)
            os.chown(folder, account.pw_uid, account.pw_gid)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _binary(name):
    folder = binaries()
    if folder is None:
        raise RuntimeError("PostgreSQL's server binaries are not installed (Debian: apt-get install postgresql)")
    return str(folder / name)


def _run(command):
    """Run a PostgreSQL program, as UNPRIVILEGED_USER when we are root; raise with its output if it fails."""
    user = UNPRIVILEGED_USER if os.geteuid() == 0 else None
    result = subprocess.run([str(part) for part in command], user=user, capture_output=True, text=True, cwd="/")
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


# Where every machine of ours runs PostgreSQL (user postgres, trust authentication).
USUAL_ADDRESS = "127.0.0.1:5432"
# What the tests' database is called there (pytest-django adds test_ and the worker's name).
TEST_DATABASE = "finews"


def answers(address, timeout=1.0):
    """Whether something accepts TCP connections at ``address`` ("host:port")."""
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def for_tests(usual=USUAL_ADDRESS):
    """Yield (URL, how it was found) of the PostgreSQL for the test suite: TEST_POSTGRES_URL if set;
    else the server at ``usual`` if it answers; else a throwaway primary() started here and stopped
    on leaving. Yields (None, why) when none answers and PostgreSQL's binaries are not installed."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"], "TEST_POSTGRES_URL"
    elif answers(usual):
        yield f"postgres://postgres@{usual}/{TEST_DATABASE}", f"the server at {usual}"
    elif not installed():
        yield None, f"nothing answers at {usual} and PostgreSQL's server binaries are not installed"
    else:
        with primary() as server:
            yield server.url(TEST_DATABASE), f"a throwaway server on port {server.port} (nothing answers at {usual})"


def main(arguments=None):
    """Run COMMAND with DATABASE_URL set to for_tests()'s URL; exit with its status. Without a
    server or binaries, say so and exit 0 (the pass is skipped), or 1 under FINEWS_REQUIRE_POSTGRESQL."""
    parser = argparse.ArgumentParser(prog="python -m finews.testing.postgres", description=main.__doc__)
    parser.add_argument("--usual", default=USUAL_ADDRESS, help="HOST:PORT to use when it answers")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(arguments)
    with for_tests(options.usual) as (url, found):
        if url is None:
            if os.environ.get("FINEWS_REQUIRE_POSTGRESQL"):
                print(f"PostgreSQL is required: {found} (apt-get install postgresql)", file=sys.stderr)
                return 1
            print(f"PostgreSQL pass skipped: {found} (apt-get install postgresql)", file=sys.stderr)
            return 0
        print(f"PostgreSQL: {found}", file=sys.stderr, flush=True)
        return subprocess.run(options.command, env={**os.environ, "DATABASE_URL": url}).returncode


if __name__ == "__main__":
    sys.exit(main())
