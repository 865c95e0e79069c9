"""One measurement per process: python bench/tasks.py TASK [ARGS]; prints one JSON line.

Run by bench/run.py with DATABASE_URL and DJANGO_SETTINGS_MODULE=bench.settings set, so every
figure comes from a fresh process with its own database.
"""

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django  # noqa: E402

django.setup()

from bs4 import BeautifulSoup  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from articles.intake.frontmatter import decode_post, parse_front_matter, split_front_matter  # noqa: E402
from articles.intake.importer import find_post_files  # noqa: E402
from articles.intake.posts import parse_post  # noqa: E402
from articles.models import Article  # noqa: E402
from articles.search import MAX_RESULTS, SearchResults  # noqa: E402


def floor(folder):
    """The least any import must do: read, decode, parse front matter, parse the HTML (same parser)."""
    started = time.perf_counter()
    count = 0
    for path, _ in find_post_files([folder]):
        text, _ = decode_post(path.read_bytes())
        front_matter, body = split_front_matter(text)
        parse_front_matter(front_matter)
        BeautifulSoup(f"<body>{body}</body>", "lxml")
        count += 1
    seconds = time.perf_counter() - started
    # What the importer itself makes of each file before any database write: the floor's work plus
    # the body sanitized (nh3), Markdown rendered, the summary, stock mentions.
    started = time.perf_counter()
    for path, _ in find_post_files([folder]):
        parse_post(path, path.read_bytes())
    return {"seconds": seconds, "parsed_seconds": time.perf_counter() - started, "files": count}


def import_posts(folder, *options):
    started = time.perf_counter()
    try:
        call_command("import_posts", folder, *options, verbosity=0)
    except Exception as error:  # a rejected file ends the command with an error; the time still counts
        print(error, file=sys.stderr)
    return {"seconds": time.perf_counter() - started}


def load(count):
    from bench.load import load_articles

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    load_articles(int(count), progress=lambda done: print(f"loaded {done}", file=sys.stderr))
    return {"seconds": time.perf_counter() - started, "articles": Article.objects.count()}


def latency(*urls, repeat=15, client=None):
    """Median time (wall and CPU) and SQL query count of each URL, through Django's full stack, cache off."""
    client = client or Client()
    results = {}
    for url in urls:
        client.get(url)
        times, cpu_times = [], []
        for _ in range(repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)
            assert response.status_code == 200, (url, response.status_code)
        results[url] = {
            "ms": statistics.median(times) * 1000,
            # This process's CPU time (SQLite runs in it): what a busy machine's other work moves least.
            "cpu_ms": statistics.median(cpu_times) * 1000,
            "queries": len(queries),
        }
    return results


def article_facts_costs(url, repeat=31):
    """Median ms (wall, CPU) and queries of the article page at ``url`` with its facts (tags,
    stocks, copies, neighbours, related news) kept for the content version, and read afresh."""
    from django.core.cache import cache

    from articles.caching import current_version
    from articles.site.views import ARTICLE_FACTS_KEY

    info_code = url.strip("/").split("/")[1]
    key = ARTICLE_FACTS_KEY.format(version=current_version(), pk=Article.objects.get(info_code=info_code).pk)
    client = Client()
    results = {}
    for name, before in (("kept", lambda: None), ("afresh", lambda: cache.delete(key))):
        client.get(url)
        times, cpu_times = [], []
        for _ in range(repeat):
            before()
            started, cpu_started = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)
        results[name] = {
            "ms": statistics.median(times) * 1000,
            "cpu_ms": statistics.median(cpu_times) * 1000,
            "queries": len(queries),
        }
    return results


def category_query_costs(slug, repeat=200):
    """Median milliseconds of the constant view (whole request, in process), and of the category
    page's two queries (its category, its first page of articles, as CategoryView builds them)
    through the ORM and as the same SQL run on the connection's cursor."""
    from articles.models import Category, with_public_articles

    def the_queries():
        category = with_public_articles(Category.objects.all()).get(slug=slug)
        return list(Article.objects.listed().filter(category=category)[:20])

    with CaptureQueriesContext(connection) as queries:
        the_queries()
    statements = [query["sql"] for query in queries.captured_queries]

    def raw():
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                cursor.fetchall()

    client = Client()
    measured = {"constant view": lambda: client.get("/bench/constant/"), "orm": the_queries, "raw": raw}
    results = {}
    for name, run in measured.items():
        run()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        results[name] = statistics.median(times) * 1000
    return results


def admin_latency(*urls):
    """latency() of admin pages, for a superuser (created in this database if missing)."""
    from django.contrib.auth.models import User

    editor = User.objects.filter(username="bench-editor").first()
    editor = editor or User.objects.create_superuser("bench-editor", password=None)
    client = Client()
    client.force_login(editor)
    return latency(*urls, repeat=7, client=client)


def hottest_stock():
    """The stock in the most articles, and how many."""
    from articles.models import StockReference

    through = Article.stocks.through
    hottest = through.objects.values("stockreference").annotate(count=Count("id")).order_by("-count").first()
    return StockReference.objects.get(pk=hottest["stockreference"]), hottest["count"]


def urls():
    """Representative URLs of the loaded database: article, category page 1 and a deep page."""
    biggest = (
        Article.objects.published().values("category__slug").annotate(count=Count("id")).order_by("-count").first()
    )
    slug, count = biggest["category__slug"], biggest["count"]
    middle = Article.objects.published().filter(category__slug=slug).order_by("-published_at")[count // 2]
    return {
        "home": "/",
        "article": middle.get_absolute_url(),
        "category": f"/category/{slug}/",
        "deep category": f"/category/{slug}/?page={max(1, count // 20 // 2)}",
        "stock": hottest_stock()[0].get_absolute_url(),
        "search": "/search/?q=%E9%99%8D%E5%87%86",
    }


def scale_urls():
    """One URL of every public page type of the loaded database, for the scale rows: its newest
    period in the archive, the most used tag and stock, each feed, the sitemap and the API list."""
    from django.utils import timezone

    from articles.models import StockReference, Tag
    from articles.site.sitemaps import ArticleSitemap

    base = urls()
    stories = Article.objects.published().stories().count()
    section = max(1, stories // ArticleSitemap.limit)  # the last full one (p=1 is the section's own address)
    newest = timezone.localtime(Article.objects.published().stories().latest("published_at").published_at)
    tag = Tag.objects.annotate(count=Count("tagged_articles")).order_by("-count").first()
    stock = StockReference.objects.get(pk=hottest_stock()[0].pk)
    category = base["category"]
    return {
        "home": "/",
        "article": base["article"],
        "category": category,
        "deep category": base["deep category"],
        "archive index": "/archive/",
        "all articles, middle page": f"/archive/?page={max(1, -(-stories // 20) // 2)}",
        "all articles, last page": f"/archive/?page={-(-stories // 20)}",
        "archive year": f"/archive/{newest.year}/",
        "archive month": f"/archive/{newest.year}/{newest.month}/",
        "archive day": f"/archive/{newest.year}/{newest.month}/{newest.day}/",
        "tag": tag.get_absolute_url(),
        "stock": stock.get_absolute_url(),
        "search": base["search"],
        "feed": "/feed.xml",
        "category feed": f"{category}feed/",
        "tag feed": f"{tag.get_absolute_url()}feed/",
        "stock feed": f"{stock.get_absolute_url()}feed/",
        "sitemap index": "/sitemap.xml",
        "sitemap middle section": "/sitemap-articles.xml" + (f"?p={section // 2}" if section > 3 else ""),
        "sitemap section": "/sitemap-articles.xml" + (f"?p={section}" if section > 1 else ""),
        "API list": "/api/v1/articles/",
    }


def peer_posts(path_file):
    """Write the loaded articles as JSON lines for the peers' loaders (bench/peers/): what each
    site stores of a post."""
    with open(path_file, "w", encoding="utf-8") as out:
        rows = Article.objects.published().stories().select_related("category").prefetch_related("tags")
        for article in rows.order_by("published_at", "id").iterator(chunk_size=2000):
            post = {
                "title": article.title,
                "slug": article.slug,
                "summary": article.summary,
                "body": article.body,
                "category": article.category.slug,
                "category_title": article.category.display_name,
                "tags": [tag.name for tag in article.tags.all()],
                "published_at": article.published_at.isoformat(),
                "source_name": article.source_name,
            }
            out.write(json.dumps(post, ensure_ascii=False) + "\n")
    return {"written": str(path_file)}


def peer_urls(path_file):
    """finews's addresses of the pages the peers table compares (bench/peers/)."""
    base = urls()
    category = base["category"]
    slug = category.strip("/").split("/")[-1]
    in_category = Article.objects.listed().filter(category__slug=slug).count()
    return {
        "article": base["article"],
        "category page 1": category,
        "category last page": f"{category}?page={-(-in_category // 20)}",
        "all articles, page 250": "/archive/?page=250",
        "_article_slug": base["article"].strip("/").split("/")[-1],
    }


def reading_day(path_file, samples, seed=7):
    """Write ``samples`` page paths drawn as readers read: Zipf (s=1) over the home page, the
    category pages and every story, newest first (news is read most when it is new)."""
    import random

    from articles.models import Category

    paths = ["/", *(f"/category/{slug}/" for slug in Category.objects.values_list("slug", flat=True))]
    stories = Article.objects.published().stories().order_by("-published_at", "-id").values_list("info_code", "slug")
    paths += [f"/news/{code}/{slug}/" for code, slug in stories.iterator()]
    weights = [1 / rank for rank in range(1, len(paths) + 1)]
    drawn = random.Random(seed).choices(paths, weights=weights, k=int(samples))
    Path(path_file).write_text("\n".join(drawn) + "\n", encoding="utf-8")
    return {"pages": len(paths), "samples": len(drawn), "distinct": len(set(drawn))}


def news_flow_costs(repeat=5):
    """Median time and queries of what stock pages and the home page compute once per content
    version (charts.py), computed afresh, for the most mentioned stock."""
    from articles.site import charts

    stock, mentions = hottest_stock()
    articles = Article.objects.listed().once_per_story(stocks=stock)
    last = charts._news_flow(articles).last
    computations = {
        "news flow": lambda: charts._news_flow(articles),
        "stocks mentioned with it": lambda: charts._mentioned_with(stock, last),
        "热门股票": charts._hot_stocks,
    }
    results = {"stock": f"{stock.code}", "mentions": mentions}
    for name, compute in computations.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                compute()
            times.append(time.perf_counter() - started)
        results[name] = {"ms": statistics.median(times) * 1000, "queries": len(queries)}
    return results


def searched_by_index(query):
    found = SearchResults(query, Article.objects.published())
    return found.count(), [article.pk for article in found[0:20]]


def _scanned(query):
    """Articles with every word of ``query`` in the title, summary or body, by ``icontains``."""
    matches = Article.objects.published()
    for word in query.split():
        matches = matches.filter(Q(title__icontains=word) | Q(body__icontains=word) | Q(summary__icontains=word))
    return matches.order_by("-published_at")


def searched_by_scan(query):
    matches = _scanned(query)
    return matches.count(), list(matches.values_list("pk", flat=True)[:20])


def searched_by_capped_scan(query):
    """The scan stopping where the search does, at MAX_RESULTS matches: for context."""
    matches = _scanned(query)
    return matches[: MAX_RESULTS + 1].count(), list(matches.values_list("pk", flat=True)[:20])


def search(*queries, repeat=5):
    """Full-text search against an icontains scan of title, summary and body: same query, same database."""
    results = {}
    for query in queries:
        timings = {}
        functions = (("index", searched_by_index), ("scan", searched_by_scan), ("capped", searched_by_capped_scan))
        for name, function in functions:
            function(query)
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                count, _ = function(query)
                samples.append(time.perf_counter() - started)
            timings[name] = {"ms": statistics.median(samples) * 1000, "count": count}
        results[query] = timings
    return results


if __name__ == "__main__":
    task, *arguments = sys.argv[1:]
    print(
        json.dumps(
            {
                "floor": floor,
                "import": import_posts,
                "load": load,
                "latency": latency,
                "news_flow_costs": news_flow_costs,
                "admin_latency": admin_latency,
                "category_query_costs": category_query_costs,
                "article_facts_costs": article_facts_costs,
                "urls": urls,
                "scale_urls": scale_urls,
                "peer_posts": peer_posts,
                "peer_urls": peer_urls,
                "reading_day": reading_day,
                "search": search,
            }[task](*arguments)
        )
    )
