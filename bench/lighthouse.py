"""Lighthouse scores of the home, article and category pages, served as in production.

    python bench/lighthouse.py [--lighthouse PATH]

Starts gunicorn with the production settings on a fresh SQLite database holding the sample posts,
runs Lighthouse (the npm package, `npx lighthouse` unless --lighthouse is given) with Debian's
Chromium, and prints a Markdown table of the four category scores. Talks to 127.0.0.1 only.
"""

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
PAGES = {"home": "/", "article": "/news/NW202611200000000001/", "category": "/category/cailianshe/"}
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lighthouse", default="npx --yes lighthouse@12", help="the lighthouse command")
    parser.add_argument("--chrome", default="/usr/bin/chromium")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="finews-lighthouse-"))
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "finews.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{workdir / 'site.sqlite3'}",
        "STATIC_ROOT": str(workdir / "static"),
    }
    for command in (
        ["migrate", "-v0"],
        ["collectstatic", "--no-input", "-v0"],
        ["import_posts", "sample_posts/_posts", "-v0"],
    ):
        subprocess.run([sys.executable, "manage.py", *command], cwd=BASE_DIR, env=environment, check=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "finews.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"], cwd=BASE_DIR, env=environment
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        rows = []
        for name, path in PAGES.items():
            report = workdir / f"{name}.json"
            command = f"{options.lighthouse} http://127.0.0.1:{port}{path} --quiet --output=json --output-path={report} --chrome-path={options.chrome} --chrome-flags='{CHROME_FLAGS}'"
            subprocess.run(command, shell=True, check=True, env={**os.environ, "CHROME_PATH": options.chrome})
            scores = json.loads(report.read_text())["categories"]
            rows.append((name, path, *(round(scores[category]["score"] * 100) for category in CATEGORIES)))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("| page | URL | performance | accessibility | best practices | SEO |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    print(f"\nReports: {workdir}")


if __name__ == "__main__":
    main()
