"""Throwaway PostgreSQL servers on free ports of 127.0.0.1: a primary, and streaming replicas of it.

From Debian's PostgreSQL binaries (``apt-get install postgresql``: /usr/lib/postgresql/<version>/bin,
or the folder in ``PG_BIN``), in temporary folders, with trust authentication for ``postgres`` on
127.0.0.1 only. PostgreSQL refuses to run as root, so when this runs as root (CI does) the servers
run as the ``postgres`` user that Debian's package creates.

    with postgres.primary() as primary, postgres.replica_of(primary) as replica:
        primary.sql("CREATE DATABASE finews")
        replica.url("finews")  # "postgres://postgres@127.0.0.1:<port>/finews"
"""

import contextlib
import os
import pwd
import shutil
import subprocess
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
    return binaries() is not None


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
