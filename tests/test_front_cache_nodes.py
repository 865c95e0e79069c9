"""Two Varnish nodes in front of two gunicorn processes, as on several hosts: each node lists both
gunicorns in its director, and every finews process purges both nodes (FRONT_CACHE_URLS).

Needs what tests/test_front_cache.py needs; runs once, in the SQLite pass.
"""

import contextlib
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from finews.testing import redis, varnish
from finews.testing.server import free_port, gunicorn

from .test_front_cache import (  # pytestmark: the SQLite pass only
    BASE_DIR,
    OLD_POST,
    Front,
    admin_form,
    article_pk,
    log_in,
    new_post,
    post_admin_form,
    pytestmark,  # noqa: F401
)
from .test_production import production_environment

FRESH_WITHIN_SECONDS = 1.0
# The purge sender's (articles/caching/front.py): how long a purge waits for an answer, and the
# longest pause between its tries to a node that did not take one.
PURGE_TIMEOUT_SECONDS = 1
RETRY_MAX_SECONDS = 2


class Nodes:
    """Two gunicorns sharing one SQLite file and Redis, and two Varnish nodes in front of both."""

    def __init__(self, tmp_path, migrated_sqlite, collected_static):
        self.ports = [free_port(), free_port()]
        self.environment = production_environment(
            tmp_path,
            DATABASE_URL=migrated_sqlite(tmp_path / "production.sqlite3", sample_posts=True, more_posts=[OLD_POST]),
            STATIC_ROOT=str(collected_static),
            SECURE_SSL_REDIRECT="false",
            REDIS_URL=redis.worker_url(),
            LOCAL_MEMORY_CACHE="false",
            FRONT_CACHE_URLS=",".join(f"http://127.0.0.1:{port}" for port in self.ports),
            FRONT_CACHE_TIMEOUT_SECONDS=str(PURGE_TIMEOUT_SECONDS),
            FRONT_CACHE_RETRY_MAX_SECONDS=str(RETRY_MAX_SECONDS),
        )
        subprocess.run(["redis-cli", "-u", redis.worker_url(), "flushdb"], check=True, capture_output=True)
        self.running = {}

    def manage(self, *args, environment=None):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=environment or self.environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def node(self, number):
        """Requests through node ``number`` (0 or 1)."""
        return Front(self.ports[number], self.manage)

    def start(self, number):
        self.running[number] = contextlib.ExitStack()
        self.running[number].enter_context(varnish.varnish(self.backends, port=self.ports[number]))

    def stop(self, number):
        self.running.pop(number).close()


# The module's own, as test_front_cache.py's site: no other module serves two nodes.
@pytest.fixture(scope="module")
def nodes(tmp_path_factory, migrated_sqlite, collected_static):
    nodes = Nodes(tmp_path_factory.mktemp("front-cache-nodes"), migrated_sqlite, collected_static)
    with gunicorn(nodes.environment) as first, gunicorn(nodes.environment) as second:
        nodes.backends = [first, second]
        try:
            nodes.start(0)
            nodes.start(1)
            nodes.manage("purge_cache")  # what the sites had kept before the nodes ran (test_front_cache.py)
            yield nodes
        finally:
            for number in list(nodes.running):
                nodes.stop(number)


def warm(node, path):
    node.get(path)
    status, headers, _ = node.get(path)
    assert status == 200 and headers["X-Cache"] == "HIT"


def article_path(node, info_code):
    status, headers, _ = node.get(f"/news/{info_code}/")
    assert status == 301, status
    return urllib.parse.urlsplit(headers["Location"]).path


def test_each_node_keeps_pages_and_an_import_purges_both(nodes, tmp_path):
    first, second = nodes.node(0), nodes.node(1)
    for node in (first, second):
        warm(node, "/")
        warm(node, "/category/cailianshe/")

    nodes.manage("import_posts", str(new_post(tmp_path, "NW202611260000000201", "两个前端缓存：导入的新消息")))

    for node in (first, second):
        assert node.shows_within("/", "两个前端缓存：导入的新消息", FRESH_WITHIN_SECONDS)
        assert node.shows_within("/category/cailianshe/", "两个前端缓存：导入的新消息", FRESH_WITHIN_SECONDS)


def test_an_editors_save_through_one_node_is_purged_from_both(nodes):
    first, second = nodes.node(0), nodes.node(1)
    path = article_path(first, "202611190000000003")
    for node in (first, second):
        warm(node, path)
    nodes.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; User.objects.create_superuser('nodes', password='两个-节点-密码')",
    )
    cookies = log_in(first, "nodes", "两个-节点-密码")
    change_page = f"/admin/articles/article/{article_pk(first, '202611190000000003')}/change/"
    form = admin_form(first, change_page, cookies)
    form["title"] = "经由一个节点的更正"

    status = post_admin_form(first, change_page, form, cookies)

    assert status == 302, status
    for node in (first, second):
        assert node.shows_within(path, "经由一个节点的更正", FRESH_WITHIN_SECONDS)


def test_a_node_down_during_a_change_is_consistent_once_it_returns(nodes, tmp_path):
    first, second = nodes.node(0), nodes.node(1)
    for node in (first, second):
        warm(node, "/")
    nodes.stop(1)
    try:
        output = nodes.manage("import_posts", str(new_post(tmp_path, "NW202611260000000202", "一个节点停机时的新消息")))

        # The change is made and the node that is up shows it; the one that is down is reported.
        assert "1 created" in output and f"url=http://127.0.0.1:{nodes.ports[1]}" in output
        assert first.shows_within("/", "一个节点停机时的新消息", FRESH_WITHIN_SECONDS)
    finally:
        nodes.start(1)

    assert second.shows_within("/", "一个节点停机时的新消息", FRESH_WITHIN_SECONDS)
    warm(second, "/")
    assert "一个节点停机时的新消息" in second.get("/")[2]


def test_pages_are_served_by_the_other_gunicorn_while_one_is_down(nodes):
    # A gunicorn of its own to stop, beside the module's second one (which stays up for the tests
    # after), behind a Varnish of its own.
    with contextlib.ExitStack() as first_running:
        first = first_running.enter_context(gunicorn(nodes.environment))
        with varnish.varnish([first, nodes.backends[1]]) as front:
            node = Front(int(front.rsplit(":", 1)[1]), nodes.manage)
            first_running.close()

            answers = [node.get(f"/news/MISSING{number}/")[0] for number in range(6)]
            answers += [node.get(path)[0] for path in ("/", "/category/cailianshe/", "/archive/")]

    assert answers == [404] * 6 + [200] * 3


def test_every_node_serves_while_gunicorns_take_turns(nodes):
    # Six misses in a row through one node: the director sends them to both gunicorns in turn.
    node = nodes.node(0)
    before = [_requests_served(url) for url in nodes.backends]

    for number in range(6):
        assert node.get(f"/news/TURNS{number}/")[0] == 404

    after = [_requests_served(url) for url in nodes.backends]
    assert after[0] > before[0] and after[1] > before[1]


def _requests_served(url):
    """How many 404s gunicorn at ``url`` has answered (its /metrics)."""
    text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("finews_http_requests_total{") and 'status="404"' in line
    )


def test_a_node_that_hangs_during_a_change_is_purged_once_it_answers_again(nodes):
    first, second = nodes.node(0), nodes.node(1)
    path = article_path(first, "202611200000000002")
    for node in (first, second):
        warm(node, path)
    nodes.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; User.objects.create_superuser('hang', password='节点-挂起-密码')",
    )
    cookies = log_in(first, "hang", "节点-挂起-密码")
    change_page = f"/admin/articles/article/{article_pk(first, '202611200000000002')}/change/"
    form = admin_form(first, change_page, cookies)
    form["title"] = "节点挂起时的更正"
    second_url = f"http://127.0.0.1:{nodes.ports[1]}"

    varnish.hang(second_url)
    try:
        status = post_admin_form(first, change_page, form, cookies)
        assert status == 302, status
        assert first.shows_within(path, "节点挂起时的更正", FRESH_WITHIN_SECONDS)
        # Longer than a purge waits for an answer: the purge to the hung node has failed by now.
        time.sleep(PURGE_TIMEOUT_SECONDS + 1)
    finally:
        varnish.wake(second_url)

    # It kept the page from before the change, and gets the purge it missed when it answers again.
    assert second.shows_within(path, "节点挂起时的更正", RETRY_MAX_SECONDS + PURGE_TIMEOUT_SECONDS + 2)


def test_a_purge_lost_by_a_cron_import_is_sent_by_the_next_run(nodes, tmp_path):
    first, second = nodes.node(0), nodes.node(1)
    for node in (first, second):
        warm(node, "/")
    post = new_post(tmp_path, "NW202611260000000203", "分区节点错过的导入")

    with varnish.Partition(f"http://127.0.0.1:{nodes.ports[1]}") as path_to_second:
        # Import runs reach the second node through a path the test can cut.
        environment = {
            **nodes.environment,
            "FRONT_CACHE_URLS": f"http://127.0.0.1:{nodes.ports[0]},{path_to_second.url}",
        }
        path_to_second.cut = True
        # The run exits after FRONT_CACHE_EXIT_WAIT_SECONDS, handing the purge it could not send over.
        output = nodes.manage("import_posts", str(post), environment=environment)
        assert "1 created" in output
        assert first.shows_within("/", "分区节点错过的导入", FRESH_WITHIN_SECONDS)
        path_to_second.cut = False
        assert "分区节点错过的导入" not in second.get("/")[2]

        # The next run has nothing to import, and sends the purge the last one could not.
        assert "1 unchanged" in nodes.manage("import_posts", str(post), environment=environment)
        assert second.shows_within("/", "分区节点错过的导入", FRESH_WITHIN_SECONDS)
