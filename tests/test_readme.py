"""The README's recipes for people, run as written."""

import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from finews.testing.server import free_port

BASE_DIR = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses a SQLite file of its own; runs once, in the SQLite pass"
)


def readme_section(title):
    text = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_editors_recipe_creates_an_editor_who_logs_into_the_admin(tmp_path, migrated_sqlite):
    """A newcomer on the sample site follows the README literally, with no terminal to answer
    prompts, and logs in through the admin's login form with the password the recipe printed."""
    (recipe,) = re.findall(r"```sh\n(.*?)```", readme_section("Editors"), re.DOTALL)
    environment = {
        **{name: value for name, value in os.environ.items() if name != "REDIS_URL"},
        "DJANGO_SETTINGS_MODULE": "finews.settings.development",
        "DATABASE_URL": migrated_sqlite(tmp_path / "site.sqlite3", sample_posts=True),
    }

    def run(script, **more_environment):
        return subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=BASE_DIR,
            env={**environment, **more_environment},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,
        )

    result = run(recipe)
    assert result.returncode == 0, result.stdout + result.stderr
    password = result.stdout.strip().splitlines()[-1]

    check = (
        "import os; from django.test import Client; client = Client();"
        "answer = client.post('/admin/login/?next=/admin/', {'username': 'xiaowang',"
        " 'password': os.environ['PRINTED_PASSWORD'], 'next': '/admin/'});"
        "page = client.get('/admin/articles/article/');"
        "from django.contrib.auth.models import User; user = User.objects.get(username='xiaowang');"
        "print(answer.status_code, answer.url, page.status_code, user.last_name + user.first_name,"
        " [g.name for g in user.groups.all()], user.has_perm('articles.publish_article'))"
    )
    login = f".venv/bin/python manage.py shell -c {shlex.quote(check)}"
    checked = run(login, PRINTED_PASSWORD=password)
    assert checked.stdout.strip().splitlines()[-1] == "302 /admin/ 200 王小明 ['编辑'] True", checked.stderr

    # The same recipe again changes nothing: the account and its password stay.
    again = run(recipe)
    assert again.returncode == 1
    assert "xiaowang 已存在" in again.stderr
    assert run(login, PRINTED_PASSWORD=password).stdout == checked.stdout


def test_run_site_and_the_readme_name_the_same_way_into_the_admin():
    run_site = (BASE_DIR / "scripts" / "run-site").read_text()
    (printed,) = re.findall(r"(\.venv/bin/python manage\.py create_editor [^#\n]*?)\s+#", run_site)
    (recipe,) = re.findall(r"```sh\n(.*?)```", readme_section("Editors"), re.DOTALL)
    assert recipe.startswith(printed)
    assert " ".join(readme_section("Two commands on a new machine").split()).count(printed) == 1


def test_run_site_names_the_way_out_when_its_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "scripts/run-site"],
            cwd=BASE_DIR,
            env={**os.environ, "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} is in use" in result.stderr
    assert "PORT=8001 bash scripts/run-site" in result.stderr
    assert "PORT=8001 bash scripts/run-site" in readme_section("Two commands on a new machine")
    # Nothing was installed, migrated or imported first (which takes a while and touches db.sqlite3).
    assert "files:" not in result.stdout
    assert time.monotonic() - started < 5


def test_run_site_shows_an_unknown_address_the_site_s_own_404(tmp_path, migrated_sqlite):
    """run-site shows a newcomer the site as readers get it: under DEBUG, Django answers an unknown
    address with its technical page, in English, whatever handler404 says."""
    run_site = (BASE_DIR / "scripts" / "run-site").read_text()
    (serve,) = [line for line in run_site.splitlines() if "manage.py runserver" in line]
    port = free_port()
    environment = {
        **{name: value for name, value in os.environ.items() if name not in ("REDIS_URL", "FINEWS_DEBUG")},
        "DJANGO_SETTINGS_MODULE": "finews.settings.development",
        "DATABASE_URL": migrated_sqlite(tmp_path / "site.sqlite3"),
    }
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(
            ["bash", "-c", f"port={port}; {serve}"], cwd=BASE_DIR, env=environment, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
    try:
        answer = None
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
            except urllib.error.HTTPError as error:
                answer = error
                break
            except OSError:
                time.sleep(0.2)
        assert answer is not None, (tmp_path / "server.log").read_text()
        page = answer.read().decode()
        # Without DEBUG, static files are still served (WhiteNoise, from the finders), the page's own too.
        (stylesheet,) = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}{stylesheet}", timeout=5).status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert answer.code == 404
    assert "<h1>找不到页面</h1>" in page and "technical" not in page and "DEBUG = True" not in page


def test_every_production_cron_line_goes_in_the_site_user_s_crontab():
    """The site's database role is its user's (peer authentication): a line put in root's crontab
    fails on its first run. Each cron block of Production says whose crontab it goes in."""
    section = readme_section("Production")
    blocks = re.findall(r"([^\n]*\n[^\n]*\n)\n```cron\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2
    for before, block in blocks:
        assert "crontab -u finews -e" in before, block
        assert "deploy/manage" in block


def test_the_benchmark_table_is_composed_from_each_steps_latest_run(tmp_path, monkeypatch):
    """bench/run.py keeps each step's rows with its run (bench/measured/): a step measured again
    replaces its own rows only, and the heading names the run each step's rows come from."""
    from bench import run

    monkeypatch.setattr(run, "MEASURED", tmp_path)
    monkeypatch.setattr(run, "commit_measured", lambda: "aaaaaaa")
    row = ("6. feed", "9 ms", "8 ms", "1.1×", "≤ 1.5×", "yes", "")
    run.record_step("scale", [row], 120.4)
    run.record_step("imports", [("1. import", "62 posts/s", "floor", "8×", "≤ 2×", "**no**", "")], 200)
    monkeypatch.setattr(run, "commit_measured", lambda: "bbbbbbb+")
    run.record_step("scale", [(*row[:1], "10 ms", *row[2:])], 130)

    heading, table = run.measured_table()

    assert table.splitlines()[2:] == [
        "| 1. import | 62 posts/s | floor | 8× | ≤ 2× | **no** |  |",
        "| 6. feed | 10 ms | 8 ms | 1.1× | ≤ 1.5× | yes |  |",
    ]
    today = time.strftime("%Y-%m-%d")
    assert f"`scale` on {today} at bbbbbbb+ (130 s); `imports` on {today} at aaaaaaa (200 s)" in heading


def test_the_suite_runs_from_the_instant_the_readme_names(tmp_path):
    """FINEWS_TEST_CLOCK moves the clock of the tests (conftest.py), and `afternoon_in_beijing`
    moves it to 14:00 that day; a clock without its offset is refused, saying why."""
    (clock,) = re.findall(r"`FINEWS_TEST_CLOCK=(\S+) bash scripts/test`", readme_section("Tests"))
    day = clock[:10]
    (tmp_path / "test_clock.py").write_text(
        "import datetime as dt\n"
        "from django.utils import timezone\n\n"
        "def test_the_clock():\n"
        f"    assert f'{{timezone.localtime():%Y-%m-%dT%H:%M}}' == {clock[:16]!r}\n\n"
        "def test_the_afternoon(afternoon_in_beijing):\n"
        f"    assert f'{{timezone.localtime():%Y-%m-%d %H}}' == '{day} 14'\n"
    )

    def run(value):
        environment = {**os.environ, "FINEWS_TEST_CLOCK": value, "PYTHONPATH": str(BASE_DIR)}
        environment.pop("DATABASE_URL", None)
        command = [".venv/bin/pytest", "-q", "-c", "pytest.ini", "--rootdir", ".", "-p", "tests.conftest"]
        return subprocess.run(
            [*command, str(tmp_path / "test_clock.py")], cwd=BASE_DIR, env=environment, capture_output=True, text=True
        )

    moved = run(clock)
    assert moved.returncode == 0 and "2 passed" in moved.stdout, moved.stdout + moved.stderr
    naive = run(clock.split("+")[0])
    assert naive.returncode != 0 and "needs its UTC offset (+08:00 for Beijing)" in naive.stderr


@pytest.mark.django_db
def test_every_address_of_the_url_table_answers_on_the_sample_site(client):
    """The Public site's table, as a newcomer tries it on the site of scripts/run-site: each address
    written out in full (no `<slug>` to fill in) answers 200."""
    from tests.conftest import SAMPLE_POSTS, run_import

    assert run_import(SAMPLE_POSTS)[0]
    rows = [line for line in readme_section("The public site").splitlines() if line.startswith("| `")]
    addresses = [
        address
        for row in rows
        for address in re.findall(r"`([^`]+)`", row.split(" | ")[0])
        if "<" not in address and "…" not in address
    ]
    assert "/" in addresses and "/healthz" in addresses
    answers = {address: client.get(address).status_code for address in addresses}
    assert answers == dict.fromkeys(addresses, 200)
