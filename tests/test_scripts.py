"""scripts/test's PostgreSQL pass (finews/testing/postgres.py's command): on TEST_POSTGRES_URL, else
on the server at the usual address, else on a throwaway server of its own; skipped, saying why,
only when PostgreSQL is not installed."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from finews.testing import postgres
from finews.testing.server import free_port

BASE_DIR = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="starts PostgreSQL servers of its own; runs once, in the SQLite pass"
)

# What the pass runs, here a command that shows what it was given: the database URL, and whether
# a PostgreSQL server answers there.
SHOW = (
    "import os, psycopg; url = os.environ['DATABASE_URL']; print(url);"
    "print(psycopg.connect(url.rsplit('/', 1)[0] + '/postgres').execute('SELECT 1').fetchone()[0])"
)


def postgres_pass(*command, usual, **environment):
    """Run the PostgreSQL pass's command line with ``usual`` as the usual address."""
    variables = {
        name: value
        for name, value in os.environ.items()
        if name not in {"TEST_POSTGRES_URL", "FINEWS_REQUIRE_POSTGRESQL", "DATABASE_URL"}
    }
    return subprocess.run(
        [sys.executable, "-m", "finews.testing.postgres", "--usual", usual, *command],
        cwd=BASE_DIR,
        env={**variables, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_script_runs_the_postgresql_pass_through_the_chooser():
    script = (BASE_DIR / "scripts" / "test").read_text()
    assert '.venv/bin/python -m finews.testing.postgres .venv/bin/pytest "${parallel[@]}" "$@"' in script


def test_the_readme_counts_the_script_s_workers_as_the_script_does():
    """README, Tests: each pass runs as many workers as pytest-xdist's option in scripts/test makes
    (on this project's 2-core machines two, on a laptop more)."""
    script = (BASE_DIR / "scripts" / "test").read_text()
    readme = " ".join((BASE_DIR / "README.md").read_text(encoding="utf-8").split())
    (option,) = re.findall(r"parallel=\((-n \S+)", script)
    assert f"then on PostgreSQL, one worker per core each (`{option}`)" in readme


def test_with_nothing_at_the_usual_address_the_pass_runs_on_a_throwaway_server():
    if not postgres.installed():
        if os.environ.get("FINEWS_REQUIRE_POSTGRESQL"):
            raise RuntimeError("PostgreSQL's server binaries are required (apt-get install postgresql)")
        pytest.skip("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    unused = f"127.0.0.1:{free_port()}"

    result = postgres_pass(sys.executable, "-c", SHOW, usual=unused)

    assert result.returncode == 0, result.stderr
    url, answered = result.stdout.split()
    assert url.startswith("postgres://postgres@127.0.0.1:") and url.endswith("/finews") and answered == "1"
    assert f"a throwaway server on port {url.split(':')[2].split('/')[0]} (nothing answers at {unused})" in (
        result.stderr
    )
    assert not postgres.answers(url.split("@")[1].split("/")[0]), "the throwaway server outlived the pass"


def test_a_server_at_the_usual_address_is_used():
    with socket.create_server(("127.0.0.1", 0)) as listening:
        usual = f"127.0.0.1:{listening.getsockname()[1]}"
        result = postgres_pass("sh", "-c", 'echo "$DATABASE_URL"', usual=usual)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"postgres://postgres@{usual}/finews"


def test_a_given_url_wins_and_the_command_s_exit_status_is_the_pass_s():
    given = "postgres://someone@db.example:6543/theirs"
    result = postgres_pass(
        "sh", "-c", 'echo "$DATABASE_URL"; exit 7', usual=f"127.0.0.1:{free_port()}", TEST_POSTGRES_URL=given
    )

    assert result.returncode == 7 and result.stdout.strip() == given


def test_without_postgresql_the_pass_is_skipped_saying_why_unless_required(tmp_path):
    unused = f"127.0.0.1:{free_port()}"
    skipped = postgres_pass("sh", "-c", "echo ran", usual=unused, PG_BIN=str(tmp_path))
    required = postgres_pass("sh", "-c", "echo ran", usual=unused, PG_BIN=str(tmp_path), FINEWS_REQUIRE_POSTGRESQL="1")

    reason = f"nothing answers at {unused} and PostgreSQL's server binaries are not installed"
    assert skipped.returncode == 0 and skipped.stdout == ""
    assert f"PostgreSQL pass skipped: {reason}" in skipped.stderr
    assert required.returncode == 1 and required.stdout == ""
    assert f"PostgreSQL is required: {reason}" in required.stderr


@pytest.mark.parametrize("version", ["3.9", ""])
def test_bootstrap_refuses_an_older_python_before_installing_anything(tmp_path, version):
    """README: "Needs Python 3.11". An older python3 (a server's) is named at once, not failed on by pip."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "bootstrap").write_text((BASE_DIR / "scripts" / "bootstrap").read_text())
    old_python = tmp_path / "python3"
    old_python.write_text(f"#!/bin/sh\necho '{version}'\n")
    old_python.chmod(0o755)

    run = subprocess.run(
        ["bash", "scripts/bootstrap"],
        cwd=tmp_path,
        env={**os.environ, "PYTHON": str(old_python)},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert run.returncode == 1 and not (tmp_path / ".venv").exists()
    assert f"is Python {version or 'of unknown version'}; finews needs 3.11 or newer" in run.stderr
