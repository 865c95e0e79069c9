"""Lighthouse scores of each public page type (home, article, category, stock, tag, 7×24), served as in production.

    python bench/lighthouse.py [--lighthouse PATH] [--page NAME ...]

Starts gunicorn with the production settings on a fresh SQLite database holding the sample posts,
runs Lighthouse (the npm package, `npx lighthouse` unless --lighthouse is given) with Debian's
Chromium, and prints a Markdown table of the four category scores. Talks to 127.0.0.1 only.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from finews.testing.server import gunicorn  # noqa: E402

PAGES = {
    "home": "/",
    "article": "/news/NW202611200000000001/",
    "category": "/category/cailianshe/",
    "stock": "/stock/nyse/NIO/",
    "tag": "/tag/cai-lian-she-xin-wen/",
    "7×24": "/7x24/",
    "archive": "/archive/2026/11/",
    "search": "/search/?q=消费电子",
}
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lighthouse", default="npx --yes lighthouse@12", help="the lighthouse command")
    parser.add_argument("--chrome", default="/usr/bin/chromium")
    parser.add_argument(
        "--page", action="append", choices=PAGES, help="only this page type (repeatable); all by default"
    )
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
        "LOCAL_MEMORY_CACHE": "true",
    }
    for command in (
        ["migrate", "-v0"],
        ["collectstatic", "--no-input", "-v0"],
        ["import_posts", "sample_posts/_posts", "-v0"],
    ):
        subprocess.run([sys.executable, "manage.py", *command], cwd=BASE_DIR, env=environment, check=True)
    rows = []
    with gunicorn(environment) as base_url:
        for name in options.page or PAGES:
            path = PAGES[name]
            report = workdir / f"{name}.json"
            url = base_url + urllib.parse.quote(path, safe="/?=&")
            # Readers get pages from Varnish or the page cache, rendered by someone before them: the
            # one Lighthouse loads is too, not the server's first render after start-up. Audited at
            # the address it answers from (an article's /news/<code>/ redirects to its slug's).
            with urllib.request.urlopen(url, timeout=30) as response:
                response.read()
                url = response.geturl()
            split = urllib.parse.urlsplit(url)
            path = urllib.parse.unquote(split.path) + (f"?{urllib.parse.unquote(split.query)}" if split.query else "")
            command = f"{options.lighthouse} '{url}' --quiet --output=json --output-path={report} --chrome-path={options.chrome} --chrome-flags='{CHROME_FLAGS}'"
            run = subprocess.run(command, shell=True, env={**os.environ, "CHROME_PATH": options.chrome})
            if run.returncode and not report.exists():  # Lighthouse gave up (NO_NAVSTART on a busy machine)
                rows.append((name, path, *[f"failed (exit {run.returncode})"] * len(CATEGORIES)))
                continue
            rows.append((name, path, *category_scores(json.loads(report.read_text()))))
    print("| page | URL | performance | accessibility | best practices | SEO |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    print(f"\nReports: {workdir}")


def category_scores(report):
    """The four category scores (0–100) of a Lighthouse JSON report, in CATEGORIES' order.

    A category Lighthouse could not score (a failed trace on a busy machine, say ``NO_NAVSTART``)
    shows the report's error code instead, so that one failed page does not end the run.
    """
    error = report.get("runtimeError", {}).get("code", "error")
    for category in CATEGORIES:
        score = report["categories"][category]["score"]
        yield error if score is None else round(score * 100)


if __name__ == "__main__":
    main()
