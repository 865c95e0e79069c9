import json
import os
import re
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.db import OperationalError, connection

BASE_DIR = Path(__file__).resolve().parents[1]
# The smallest PNG: one transparent pixel.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def production_environment(tmp_path, **extra):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="finews.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="finews.example.com",  # as the README shows: not 127.0.0.1, which Varnish's probe sends
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        LOCAL_MEMORY_CACHE="true",
    )
    environment.update(extra)
    return environment


def manage(environment, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_no_issues(tmp_path):
    result = manage(production_environment(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_missing_essentials_stop_the_start_with_a_clear_message(tmp_path, missing):
    environment = production_environment(tmp_path)
    del environment[missing]

    result = manage(environment, "check")

    assert result.returncode != 0
    assert f"The {missing} environment variable is required in production" in result.stderr


def test_production_refuses_a_cache_of_its_own_unless_told_it_is_one_process(tmp_path):
    environment = production_environment(tmp_path)
    del environment["LOCAL_MEMORY_CACHE"]

    refused = manage(environment, "check")
    shared = manage({**environment, "REDIS_URL": "redis://127.0.0.1:6379/0"}, "check")
    single = manage({**environment, "LOCAL_MEMORY_CACHE": "true"}, "check")

    assert refused.returncode != 0
    assert "The REDIS_URL environment variable is required in production" in refused.stderr
    assert "LOCAL_MEMORY_CACHE=true" in refused.stderr
    assert shared.returncode == 0 and single.returncode == 0, shared.stderr + single.stderr


def test_hsts_preload_is_the_operators_choice(tmp_path):
    script = "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD)"
    default = manage(production_environment(tmp_path), "shell", "-c", script)
    chosen = manage(
        production_environment(tmp_path, SECURE_HSTS_PRELOAD="true", SECURE_HSTS_SECONDS="63072000"),
        "shell",
        "-c",
        script,
    )
    assert default.stdout.splitlines()[-1].split() == ["31536000", "False"], default.stderr
    assert chosen.stdout.splitlines()[-1].split() == ["63072000", "True"], chosen.stderr


@pytest.mark.parametrize(("level", "logged"), [(None, ["INFO", "WARNING"]), ("WARNING", ["WARNING"])])
def test_log_level_governs_the_import_s_lines_too(tmp_path, level, logged):
    """The README's Settings: LOG_LEVEL, default INFO, for what goes to the journal. The import's
    summary (an INFO line of articles.intake, logged by every cron run) follows it like the rest."""
    environment = production_environment(tmp_path)
    environment.pop("LOG_LEVEL", None)
    if level:
        environment["LOG_LEVEL"] = level
    script = (
        "import logging; logger = logging.getLogger('articles.intake');"
        "logger.info('import_posts finished files=1'); logger.warning('import_posts --watch: gone')"
    )
    result = manage(environment, "shell", "-v", "0", "-c", script)
    lines = [line for line in result.stdout.splitlines() if "logger=articles.intake" in line]
    assert [line.split(" level=")[1].split()[0] for line in lines] == logged, result.stdout + result.stderr


def test_the_retired_proxy_count_stops_the_start_and_names_its_replacement(tmp_path):
    result = manage(production_environment(tmp_path, PROXY_COUNT="1"), "check")
    assert result.returncode != 0 and "TRUSTED_PROXIES" in result.stderr


def documented_health_answers():
    """The answers the README's Reference gives /healthz: (200's body, 503's body)."""
    text = " ".join((BASE_DIR / "README.md").read_text(encoding="utf-8").split())
    (healthy, broken) = re.search(r"`/healthz` \(200 `(\{.*?\})`.*?, 503 `(\{.*?\})`", text).groups()
    return json.loads(healthy), json.loads(broken)


def test_health_endpoint(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}
    assert response.json() == documented_health_answers()[0]


def test_health_endpoint_reports_a_broken_database(client, db, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("articles.operations.health.connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "error"
    assert response.json() == documented_health_answers()[1]


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="uses a SQLite file of its own; runs once, in the SQLite pass"
)
def test_gunicorn_serves_the_site_and_whitenoise_the_static_files(site_server, collected_static):
    server = site_server("production", sample_posts=True)
    manifest = json.loads((collected_static / "staticfiles.json").read_text())["paths"]
    hashed_css = manifest["css/site.css"]

    def get(path):
        headers = {"Host": "finews.example.com", "X-Forwarded-Proto": "https"}
        return urllib.request.urlopen(urllib.request.Request(f"{server.url}{path}", headers=headers), timeout=5)

    assert json.load(get("/healthz")) == {"status": "ok", "database": "ok"}
    home = get("/").read().decode()
    assert f"/static/{hashed_css}" in home and "示例：央行宣布下调存款准备金率" in home

    cover = Path(server.environment["MEDIA_ROOT"]) / "covers" / "2026" / "11" / "cover.png"
    cover.parent.mkdir(parents=True)
    cover.write_bytes(PNG_BYTES)
    served = get("/media/covers/2026/11/cover.png")
    assert served.headers["Content-Type"] == "image/png" and served.read() == PNG_BYTES

    css = get(f"/static/{hashed_css}")
    assert "max-age=315360000" in css.headers["Cache-Control"]
    # As the README's Reference says it (the operator's reading of how long browsers keep them).
    readme = " ".join((BASE_DIR / "README.md").read_text(encoding="utf-8").split())
    (documented,) = re.findall(r"WhiteNoise serves the static files \(hashed names, [^`]*`([^`]+)`", readme)
    assert css.headers["Cache-Control"] == documented
    assert css.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # The site's user has its checkout as its home (deploy/): gunicorn writes nothing there.
    assert Path(server.environment["HOME"]).is_dir() and list(Path(server.environment["HOME"]).iterdir()) == []
