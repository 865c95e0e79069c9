"""finews beside its peers: Wagtail and djangoproject.com's blog app, on the same posts and server.

``python bench/run.py --peers`` (never part of the tests). Each peer gets a virtualenv of its own
under the work folder, built once from PyPI (PEERS' pinned packages), and a SQLite database of
the same synthetic posts the other benchmarks load (bench/load.py), written by the peer's own
loader (wagtail_site/load.py, blog_site/load.py). The blog app's code and templates come from a
checkout of djangoproject.com (``--djangoproject``) and are copied at run time into the work
folder, never into this repository. Each site is served by gunicorn with 2 sync workers and its
caches off; wrk measures each page of each site in turn, three rounds, and the table gives
medians and, per round, finews ÷ Wagtail.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from finews.testing.server import free_port

HERE = Path(__file__).resolve().parent
GUNICORN = "gunicorn==27.0.1"  # finews's own (requirements.txt)
PEERS = {
    "wagtail": {
        "title": "Wagtail 8.0.1 (NewsPage under a per-category index, taggit tags)",
        "packages": ["wagtail==8.0.1", GUNICORN],
        "site": HERE / "wagtail_site",
    },
    "blog": {
        "title": "djangoproject.com blog app (its views and templates)",
        # Its requirements at the fetched commit, on the Django finews runs (its own 6.1 needs Python 3.12).
        "packages": ["django==5.2.19", "django-hosts==7.0.0", "docutils==0.21.2", "markdown==3.10.2", GUNICORN],
        "site": HERE / "blog_site",
    },
}
# What the blog app needs of a djangoproject.com checkout at run time.
BLOG_FILES = ["blog", "djangoproject/templates/base.html", "djangoproject/templates/base_weblog.html",
              "djangoproject/templates/blog"]  # fmt: skip
DEFAULT_DJANGOPROJECT = "/work/.mirror/django+djangoproject.com/repo"
ROUNDS = 3
CREATED = 300
PER_PAGE = {"finews": 20, "wagtail": 20, "blog": 10}


class Peers:
    """Builds, loads and serves the peers beside finews for ``bench`` (bench/run.py's Bench)."""

    def __init__(self, bench, djangoproject):
        self.bench = bench
        self.folder = bench.workdir / "peers"
        self.folder.mkdir(exist_ok=True)
        self.djangoproject = Path(djangoproject)

    def log(self, message):
        self.bench.log(f"peers: {message}")

    def venv(self, name):
        """The peer's virtualenv, with its pinned packages (built once)."""
        venv = self.folder / f"{name}-venv"
        marker = venv / "peers-installed.txt"
        packages = PEERS[name]["packages"]
        if not marker.exists() or marker.read_text() != " ".join(packages):
            self.log(f"building {name}'s virtualenv ({', '.join(packages)})")
            if not (venv / "bin" / "python").exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "pip"), "install", "--quiet", *packages]
            subprocess.run(pip, check=True, stdout=subprocess.DEVNULL)
            marker.write_text(" ".join(packages))
        return venv

    def blog_code(self):
        """A copy of the blog app and its templates from the djangoproject.com checkout."""
        target = self.folder / "djangoproject"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(self.djangoproject), "archive", "HEAD", *BLOG_FILES], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        commit = subprocess.run(
            ["git", "-C", str(self.djangoproject), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        return target, commit

    def environment(self, name, database):
        site = PEERS[name]["site"]
        environment = {**os.environ, "PEER_DATABASE": str(database), "DJANGO_SETTINGS_MODULE": "settings"}
        path = [str(site)]
        if name == "blog":
            path.insert(0, str(self.folder / "djangoproject"))
            environment["PEER_TEMPLATES"] = str(self.folder / "djangoproject" / "djangoproject" / "templates")
        environment["PYTHONPATH"] = os.pathsep.join(path)
        environment.pop("DATABASE_URL", None)
        return environment

    def run_loader(self, name, database, posts, *arguments):
        venv = self.venv(name)
        command = [str(venv / "bin" / "python"), str(PEERS[name]["site"] / "load.py"), str(posts), *map(str, arguments)]
        output = subprocess.run(
            command, cwd=PEERS[name]["site"], env=self.environment(name, database), check=True,
            stdout=subprocess.PIPE, text=True,
        ).stdout  # fmt: skip
        return json.loads(output.strip().splitlines()[-1])

    def database(self, name, posts):
        """The peer's database of ``posts`` (loaded once, kept in the work folder)."""
        database = self.folder / f"{name}.sqlite3"
        if not database.exists():
            self.log(f"loading {name}")
            partial = self.folder / f"{name}-loading.sqlite3"
            partial.unlink(missing_ok=True)
            self.run_loader(name, partial, posts)
            shutil.move(partial, database)
        return database

    def serve(self, name, database):
        """Start gunicorn (2 sync workers) for the peer; returns (process, base URL)."""
        port = free_port()
        gunicorn = self.venv(name) / "bin" / "gunicorn"
        command = [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                   "django.core.wsgi:get_wsgi_application()"]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=PEERS[name]["site"], env=self.environment(name, database),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return process, f"http://127.0.0.1:{port}"

    def measure(self):
        """Rows of the peers table: {page: {site: [req/s per round]}}, and each site's creation rate."""
        bench = self.bench
        count = bench.sizes["peer_posts"]
        finews_database = bench.loaded_database(count)
        posts = self.folder / f"posts-{count}.jsonl"
        if not posts.exists():
            bench.task(finews_database, "peer_posts", posts)
        self.blog_code_commit = self.blog_code()[1]
        databases = {name: self.database(name, posts) for name in PEERS}
        urls = {"finews": bench.task(finews_database, "peer_urls", posts)[0]}
        urls.update(self.peer_urls(posts, urls["finews"]["_article_slug"]))
        created = self.creation_rates(posts, finews_database)
        processes = []
        try:
            with bench.server(finews_database, cache=False) as finews_base:
                bases = {"finews": finews_base}
                for name in PEERS:
                    process, bases[name] = self.serve(name, databases[name])
                    processes.append(process)
                for name, base in bases.items():
                    self.wait(base + urls[name]["article"], processes)
                rates = self.rounds(bases, urls)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=20)
        return rates, created

    def wait(self, url, processes, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(url, timeout=5).status == 200:
                    return
            except (OSError, urllib.error.HTTPError):
                pass
            if time.monotonic() > deadline or any(process.poll() is not None for process in processes):
                raise RuntimeError(f"{url} did not answer 200")
            time.sleep(0.2)

    def peer_urls(self, posts, article_slug):
        """The peers' addresses of the same article and lists finews measures."""
        rows = [json.loads(line) for line in posts.read_text(encoding="utf-8").splitlines()]
        article = next(row for row in rows if row["slug"] == article_slug)
        in_category = sum(1 for row in rows if row["category"] == article["category"])
        last = -(-in_category // PER_PAGE["wagtail"])
        published = time.strptime(article["published_at"][:19], "%Y-%m-%dT%H:%M:%S")  # UTC, the blog's zone
        return {
            "wagtail": {
                "article": f"/news/{article['category']}/{article_slug}/",
                "category page 1": f"/news/{article['category']}/",
                "category last page": f"/news/{article['category']}/?page={last}",
                "all articles, page 250": "/news/?page=250",
            },
            "blog": {
                "article": f"/weblog/{time.strftime('%Y/%b/%d', published).lower()}/{article_slug}/",
                # The blog has no categories: its one list of entries stands for them.
                "category page 1": "/weblog/",
                "category last page": "/weblog/?page=last",
                "all articles, page 250": "/weblog/?page=250",
            },
        }

    def rounds(self, bases, urls):
        rates = {}
        seconds = self.bench.sizes["peer_seconds"]
        for round_number in range(ROUNDS):
            self.log(f"round {round_number + 1} of {ROUNDS}")
            for page in ("article", "category page 1", "category last page", "all articles, page 250"):
                for name, base in bases.items():
                    result = self.bench.wrk(base + urls[name][page], seconds=seconds)
                    rates.setdefault(page, {}).setdefault(name, []).append(result)
        return rates

    def creation_rates(self, posts, finews_database):
        """Items made per second, each site its own way, CREATED of them on its loaded database
        (finews: ``import_posts`` alone, and with ``--workers`` on every core, the way README's
        "Importing posts" brings an archive): {site: items/s}, finews's two as "finews" and
        "finews --workers"."""
        rates = {}
        for name in PEERS:
            copy = self.folder / f"{name}-create.sqlite3"
            shutil.copy(self.folder / f"{name}.sqlite3", copy)
            result = self.run_loader(name, copy, posts, "--create", CREATED)
            rates[name] = result["created"] / result["seconds"]
            copy.unlink()
        folder = self.bench.posts(CREATED, seed=5)
        for name, options in (("finews", ()), ("finews --workers", ("--workers", os.cpu_count() or 1))):
            copy = self.folder / "finews-create.sqlite3"
            shutil.copy(finews_database, copy)
            result, _ = self.bench.task(copy, "import", folder, *options)
            rates[name] = CREATED / result["seconds"]
            copy.unlink()
        return rates


def table(rates, created, commit):
    """The README's peers table (markdown) from Peers.measure()'s figures."""
    titles = {"finews": "finews", **{name: peer["title"] for name, peer in PEERS.items()}}
    blog_title = f"{titles['blog']}, djangoproject.com at {commit}"
    lines = [
        f"| page | finews | {titles['wagtail']} | {blog_title} | finews ÷ Wagtail (within a round; spread) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for page, by_site in rates.items():
        medians = {name: statistics.median(r["rps"] for r in results) for name, results in by_site.items()}
        ratios = [f["rps"] / w["rps"] for f, w in zip(by_site["finews"], by_site["wagtail"], strict=True)]
        errors = sum(r["errors"] for results in by_site.values() for r in results)
        lines.append(
            f"| {page} | {medians['finews']:,.0f} | {medians['wagtail']:,.0f} | {medians['blog']:,.0f} | "
            f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"
            + (f"; {errors} errors" if errors else "")
            + " |"
        )
    lines.append(
        f"| creating {CREATED} items (/s; finews alone, and with `--workers`) | {created['finews']:,.0f};"
        f" {created['finews --workers']:,.0f} | {created['wagtail']:,.1f} | {created['blog']:,.0f} |"
        f" {created['finews'] / created['wagtail']:.1f}×; {created['finews --workers'] / created['wagtail']:.1f}× |"
    )
    return "\n".join(lines)
