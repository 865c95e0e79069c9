"""Hostile input from the scraper and the web: nothing executes, nothing crashes."""

import datetime as dt
import json
import re

import pytest
from bs4 import BeautifulSoup
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import get_resolver
from django.utils import timezone

from articles import publishing
from articles.models import Article, StockReference, Tag
from articles.operations import security
from articles.operations.security import ContentSecurityPolicyMiddleware, client_address
from articles.search import rebuild_index
from tests.conftest import run_import
from tests.factories import article_form, make_article, make_category, make_stock

pytestmark = pytest.mark.django_db

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    "<body onload=alert(1)>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit></form>',
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    '<img src="x" onerror="&#97;lert(1)">',
    "<IMG SRC=`javascript:alert(1)`>",
    "<style>@import 'javascript:alert(1)';</style>",
    "<base href=javascript:alert(1)//>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
]
DANGEROUS_URL = re.compile(r"^\s*(javascript|vbscript|data):", re.IGNORECASE)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster"}
NEVER_ALLOWED_TAGS = {"iframe", "object", "embed", "svg", "math", "base", "frame", "frameset", "applet"}


# Our own drawings: the news flow of stock and tag pages (templates/includes/news_flow.html), the
# article page's sparklines: an <svg> of these only.
OUR_DRAWINGS = "svg.flow-chart, svg.sparkline"
DRAWING_ELEMENTS = {"svg", "title", "desc", "line", "rect", "g", "text", "path"}


def assert_nothing_executes(html, where, allowed_tags=()):
    """No element or attribute in ``html`` can run script, whatever the page.

    ``allowed_tags``: the admin's own icons are inline <svg>; handlers and scripts are still checked.
    """
    soup = BeautifulSoup(html, "lxml")
    for chart in soup.select(OUR_DRAWINGS):
        assert {element.name for element in chart.find_all(True)} | {"svg"} <= DRAWING_ELEMENTS, where
        assert all(not attribute.startswith("on") for element in chart.find_all(True) for attribute in element.attrs)
        chart.decompose()
    for element in soup.find_all(True):
        name = element.name.lower()
        assert name not in NEVER_ALLOWED_TAGS - set(allowed_tags), f"{where}: <{name}> in the page"
        if name == "script":
            script_type = element.get("type")
            if script_type == "application/ld+json":
                # Data, as long as it stays one JSON document that nothing in it could close.
                assert "</" not in element.string, f"{where}: {element.string!r}"
                json.loads(element.string)
            elif script_type not in ("application/json", "importmap"):
                assert element.get("src") and not (element.string or "").strip(), f"{where}: inline script {element}"
        if name == "meta" and element.get("http-equiv", "").lower() == "refresh":
            raise AssertionError(f"{where}: meta refresh")
        for attribute, value in element.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            assert not attribute.lower().startswith("on"), f"{where}: event handler {attribute}={value!r}"
            if attribute.lower() in URL_ATTRIBUTES:
                assert not DANGEROUS_URL.match(value), f"{where}: {attribute}={value!r}"
            if attribute.lower() == "style":
                assert "expression" not in value.lower() and "javascript" not in value.lower(), (
                    f"{where}: style {value!r}"
                )


def hostile_post(number, payload):
    """A post with ``payload`` in the title, digest, body, category, tags and a stock name."""
    quoted = payload.replace('"', "'")
    return (
        "---\n"
        f'title: "恶意标题{number} {quoted}"\n'
        "date: 2022-01-07 12:35:20 +0800\n"
        f'categories: "恶意分类{number} {quoted}"\n'
        f'tags: ["恶意标签{number} {quoted}", "港股"]\n'
        "---\n"
        f"> 摘要{number} {payload}\n\n"
        f'<p>正文{number} {payload}</p><a data-code="1,60{number:04d}">股票{number} {payload}</a>\n'
    )


@pytest.fixture
def hostile_site(write_post, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for number, payload in enumerate(XSS_PAYLOADS):
            write_post(f"2022-01-07-XSS{number}.md", hostile_post(number, payload))
        succeeded, stdout, stderr = run_import(write_post("x.txt", "").parent)
    assert succeeded, stderr
    assert Article.objects.count() == len(XSS_PAYLOADS)
    rebuild_index()


def public_urls():
    urls = ["/", "/category/", "/archive/", "/archive/2022/", "/archive/2022/1/", "/archive/2022/1/7/", "/feed.xml"]
    urls += ["/sitemap.xml", "/search/?q=恶意", "/search/?q=alert", f"/search/?q={XSS_PAYLOADS[0]}"]
    for article in Article.objects.select_related("category").prefetch_related("tags", "stocks"):
        urls += [
            article.get_absolute_url(),
            article.category.get_absolute_url(),
            f"{article.category.get_absolute_url()}feed/",
        ]
        urls += [tag.get_absolute_url() for tag in article.tags.all()]
        urls += [stock.get_absolute_url() for stock in article.stocks.all()]
    return sorted(set(urls))


def test_payloads_never_execute_on_public_pages(client, hostile_site):
    for url in public_urls():
        response = client.get(url)
        assert response.status_code == 200, url
        if response["Content-Type"].startswith("text/html"):
            assert_nothing_executes(response.content.decode(), url)
        else:
            assert "<script" not in response.content.decode().lower(), url


def test_payloads_are_shown_as_text(client, hostile_site):
    article = Article.objects.get(info_code="XSS0")
    content = client.get(article.get_absolute_url()).content.decode()

    # Nothing in a title or name is markup: kept as written, shown escaped.
    assert "恶意标题0 &lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert article.title == "恶意标题0 <script>alert(1)</script>"
    assert article.category.name == "恶意分类0 <script>alert(1)</script>"
    assert StockReference.objects.get(code="600000").name == "股票0"


def test_payloads_never_execute_on_admin_pages(client, hostile_site):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    urls = [
        "/admin/",
        "/admin/articles/article/",
        "/admin/articles/category/",
        "/admin/articles/tag/",
        "/admin/articles/stockreference/",
    ]
    urls += [f"/admin/articles/article/{pk}/change/" for pk in Article.objects.values_list("pk", flat=True)]
    urls += [f"/admin/articles/article/{pk}/history/" for pk in Article.objects.values_list("pk", flat=True)[:3]]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_nothing_executes(response.content.decode(), url, allowed_tags={"svg"})


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_saved_through_the_admin_are_sanitized(client, payload):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    form = article_form(
        make_category(), title=f"标题 {payload}", summary=f"摘要 {payload}", body=f"<p>正文 {payload}</p>"
    )
    response = client.post("/admin/articles/article/add/", form)

    # Saved, not refused: a refused form leaves nothing to look at and would prove nothing.
    assert response.status_code == 302, response.context["adminform"].form.errors
    (article,) = Article.objects.all()
    page = client.get(f"{article.get_absolute_url()}?preview=1").content.decode()
    assert "标题" in article.title and "正文" in page
    assert_nothing_executes(page, payload)


class TestHeaders:
    def test_public_pages_forbid_inline_script(self, client):
        response = client.get("/")
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response["X-Frame-Options"] == "DENY"

    def test_admin_has_a_policy_too(self, client):
        policy = client.get("/admin/login/")["Content-Security-Policy"]
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy

    def test_public_templates_have_no_inline_script_or_handlers(self, client, imported_corpus):
        for url in ("/", "/category/cailianshe/", "/news/NW202201072239950893/"):
            html = client.get(url, follow=True).content.decode()
            # Only our own files (live.js, share.js), never a script written into the page.
            scripts = re.findall(r"<script(?![^>]*application/ld\+json)[^>]*>(.*?)</script>", html, re.DOTALL)
            sources = re.findall(r"<script(?![^>]*application/ld\+json)([^>]*)>", html)
            assert all(body == "" for body in scripts) and all(' src="/static/js/' in tag for tag in sources), url
            assert not re.search(r"<[^>]+\son\w+=", html), url

    def test_admin_forms_need_a_csrf_token(self, db):
        client = Client(enforce_csrf_checks=True)
        client.force_login(User.objects.create_superuser("boss", password="x"))
        response = client.post("/admin/articles/category/add/", {"name": "csrf"})
        assert response.status_code == 403
        # In words an editor can act on: Django's own asked to set DEBUG=True.
        page = response.content.decode()
        assert "<h1>没有保存</h1>" in page and "DEBUG" not in page and "CSRF" not in page


class TestContentSecurityPolicy:
    """The policy kept per process for the settings' own case is the one django-csp builds, byte for byte."""

    CASES = {
        "public page": ("/", lambda response: response),
        "exempt": ("/", csp_exempt()(lambda response: response)),
        "report-only exempt": ("/", csp_exempt(REPORT_ONLY=True)(lambda response: response)),
        "updated": ("/", csp_update({"img-src": ["https://img.example.com"]})(lambda response: response)),
        "replaced": ("/", csp_replace({"script-src": ["https://cdn.example.com"]})(lambda response: response)),
        "report-only updated": ("/", csp_update({"img-src": ["a.example.com"]}, REPORT_ONLY=True)(lambda r: r)),
        "header of its own": ("/media/covers/x.gif", lambda response: _with_header(response)),
        "admin": ("/admin/login/", lambda response: response),
        "excluded": ("/excluded/page/", lambda response: response),
    }

    @staticmethod
    def answered(path, decorate, *, parent, nonce=False, status=200):
        """(headers, request) of a response to ``path`` made by ``decorate``, through finews's
        middleware, or through django-csp's own process_response (``parent``)."""
        middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())
        request = RequestFactory().get(path)
        middleware.process_request(request)
        if nonce:
            str(request.csp_nonce)
        response = decorate(HttpResponse(status=status))
        answer = CSPMiddleware.process_response if parent else ContentSecurityPolicyMiddleware.process_response
        return dict(answer(middleware, request, response).headers), request

    @pytest.mark.parametrize("report_only", [False, True])
    @pytest.mark.parametrize("nonce", [False, True])
    @pytest.mark.parametrize("case", CASES)
    def test_every_case_gets_the_headers_django_csp_writes(self, settings, case, nonce, report_only):
        settings.CONTENT_SECURITY_POLICY = {**settings.CONTENT_SECURITY_POLICY, "EXCLUDE_URL_PREFIXES": ["/excluded/"]}
        if report_only:
            settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
                "DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report/"},
                "EXCLUDE_URL_PREFIXES": ["/excluded/"],
            }
        path, decorate = self.CASES[case]

        ours, request = self.answered(path, decorate, parent=False, nonce=nonce)
        theirs, _ = self.answered(path, decorate, parent=True, nonce=nonce)

        assert ours == theirs
        if not nonce:
            with pytest.raises(CSPNonceError):
                str(request.csp_nonce)

    def test_a_public_page_s_policy_is_the_settings_own(self, client):
        assert client.get("/")["Content-Security-Policy"] == build_policy()

    def test_debug_error_pages_get_no_policy_as_in_django_csp(self, settings):
        settings.DEBUG = True
        ours, _ = self.answered("/", lambda response: response, parent=False, status=404)
        assert ours == self.answered("/", lambda response: response, parent=True, status=404)[0]
        assert "Content-Security-Policy" not in ours

    def test_the_policy_is_built_once_and_again_when_the_settings_change(self, settings, monkeypatch):
        built = []
        monkeypatch.setattr(security, "build_policy", lambda **parts: built.append(parts) or build_policy(**parts))
        settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"]}}
        for _ in range(3):
            first, _ = self.answered("/", lambda response: response, parent=False)
        settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
        second, _ = self.answered("/", lambda response: response, parent=False)

        assert first["Content-Security-Policy"] == "default-src 'self'"
        assert second["Content-Security-Policy"] == "default-src 'none'"
        assert len(built) == 4  # the policy and the report-only one, for each of the two settings


def _with_header(response):
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def every_route(resolver=None, prefix=""):
    """(pattern text) of every URL pattern of the site, the admin's excepted."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if hasattr(pattern, "url_patterns"):
            if not text.startswith("admin/"):
                yield from every_route(pattern, text)
        else:
            yield text


BAD_VALUES = [
    "%00",
    "%ff%fe",
    "x" * 5000,
    "..%2f..%2fetc%2fpasswd",
    "%3Cscript%3E",
    "-1",
    "99999999999999999999",
    "中文",
]


class TestBadRequests:
    """On the imported corpus (once for the class): every URL pattern, every odd parameter."""

    def test_bad_requests_are_404_or_400_never_500(self, imported_corpus):
        client = Client(raise_request_exception=False)
        routes = list(every_route())
        assert len(routes) > 15
        for route in routes:
            for bad in BAD_VALUES:
                url = "/" + re.sub(r"<[^>]+>|\(\?P<\w+>[^)]+\)", bad, route).lstrip("^").rstrip("$").replace("\\.", ".")
                response = client.get(url)
                assert response.status_code in (200, 301, 302, 400, 404, 405), f"{url[:200]}: {response.status_code}"

    def test_the_ends_of_the_calendar(self, imported_corpus):
        client = Client(raise_request_exception=False)
        for url in ("/archive/9999/12/31/", "/archive/9999/12/", "/archive/1/1/1/", "/archive/2999/12/31/"):
            assert client.get(url).status_code == 404, url

    @pytest.mark.parametrize(
        "query",
        [
            "page=abc", "page=%00", "page=99999999999999999999", "page=-5", "page=1.5", "page=", "q=%00", "q=%ff",
            "category=%00", "category=nope", "stock=%00", "start=%00", "start=99999-01-01", "end=2022-02-30", "p=abc", "p=999",
            "q=" + "%E9%99%8D" * 500, "&&&==", "page=1&page=2", "q=%E5%A4%AE&start=0001-01-01",
            "q=%E5%A4%AE&end=9999-12-31",
        ],
    )  # fmt: skip
    def test_malformed_query_strings(self, imported_corpus, query):
        client = Client(raise_request_exception=False)
        for path in (
            "/",
            "/category/cailianshe/",
            "/tag/cai-lian-she-xin-wen/",
            "/archive/2022/",
            "/search/",
            "/feed.xml",
            "/sitemap.xml",
            "/sitemap-articles.xml",
        ):
            response = client.get(f"{path}?{query}")
            assert response.status_code in (200, 301, 400, 404), f"{path}?{query}: {response.status_code}"


def test_the_json_ld_of_hostile_articles_is_checked(client, hostile_site):
    checked = 0
    for article in Article.objects.all():
        html = client.get(article.get_absolute_url()).content.decode()
        (document,) = BeautifulSoup(html, "lxml").select('script[type="application/ld+json"]')
        assert "<" not in document.string
        checked += json.loads(document.string)["headline"] == article.title[:110]
    assert checked == len(XSS_PAYLOADS)


class TestLoginThrottlingBehindAProxy:
    """Behind a trusted proxy, six wrong passwords lock the client that sent them, no one else."""

    PROXY = "10.0.0.2"

    @pytest.fixture(autouse=True)
    def trusted_proxy(self, settings):
        settings.TRUSTED_PROXIES = [self.PROXY]

    def log_in(self, client_address, password, forwarded_for=None):
        return Client().post(
            "/admin/login/?next=/admin/",
            {"username": "boss", "password": password},
            REMOTE_ADDR=self.PROXY,
            HTTP_X_FORWARDED_FOR=forwarded_for or client_address,
        )

    def test_six_failures_lock_that_client_only(self, db):
        User.objects.create_superuser("boss", password="the-right-passphrase-9")
        for _ in range(6):
            assert self.log_in("203.0.113.7", "wrong").status_code in (200, 429)

        assert self.log_in("203.0.113.7", "the-right-passphrase-9").status_code == 429
        assert self.log_in("198.51.100.4", "the-right-passphrase-9").status_code == 302

    def test_an_address_the_client_writes_itself_is_not_believed(self, db):
        User.objects.create_superuser("boss", password="the-right-passphrase-9")
        for number in range(6):
            self.log_in("203.0.113.7", "wrong", forwarded_for=f"192.0.2.{number}, 203.0.113.7")

        assert self.log_in("203.0.113.7", "the-right-passphrase-9").status_code == 429
        assert self.log_in("198.51.100.4", "the-right-passphrase-9").status_code == 302


class TestClientAddress:
    """The three usual layouts, as the headers reach gunicorn (real hops: tests/test_deployment.py)."""

    def address(self, settings, trusted, remote, forwarded=None):
        settings.TRUSTED_PROXIES = trusted
        meta = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {})
        return client_address(RequestFactory().get("/", **meta))

    def test_straight_to_gunicorn_the_peer_is_the_client_whatever_it_forwards(self, settings):
        assert self.address(settings, ["127.0.0.1"], "203.0.113.7", "127.0.0.1") == "203.0.113.7"
        assert self.address(settings, ["127.0.0.1"], "127.0.0.1") == "127.0.0.1"  # Prometheus on this host

    def test_nginx_in_front(self, settings):
        assert self.address(settings, ["127.0.0.1"], "127.0.0.1", "203.0.113.7") == "203.0.113.7"
        # The client wrote the first entry itself.
        assert self.address(settings, ["127.0.0.1"], "127.0.0.1", "127.0.0.1, 203.0.113.7") == "203.0.113.7"

    def test_nginx_then_varnish_in_front(self, settings):
        """Varnish appends nginx's address: the client is not the last entry but the last untrusted one."""
        chain = "203.0.113.7, 127.0.0.1"
        assert self.address(settings, ["127.0.0.1", "::1"], "127.0.0.1", chain) == "203.0.113.7"
        assert self.address(settings, ["127.0.0.1"], "127.0.0.1", "10.9.9.9, 203.0.113.7, 127.0.0.1") == "203.0.113.7"

    def test_a_load_balancer_in_front_is_trusted_once_named(self, settings):
        chain = "198.51.100.4, 10.0.0.7"  # the client, then the balancer, reaching nginx on this host
        assert self.address(settings, ["127.0.0.1", "10.0.0.0/24"], "127.0.0.1", chain) == "198.51.100.4"
        assert self.address(settings, ["127.0.0.1"], "127.0.0.1", chain) == "10.0.0.7"

    def test_junk_and_ipv6(self, settings):
        assert self.address(settings, ["127.0.0.1"], "127.0.0.1", "203.0.113.7, not-an-address") == "127.0.0.1"
        assert self.address(settings, ["::1"], "::1", "2001:db8::5") == "2001:db8::5"
        assert self.address(settings, ["127.0.0.1"], "::ffff:127.0.0.1", "203.0.113.7") == "203.0.113.7"


def test_feeds_send_summaries_as_text(client, write_post, django_capture_on_commit_callbacks):
    digest = "&lt;img src=x onerror=alert(1)&gt; 央行"
    with django_capture_on_commit_callbacks(execute=True):
        run_import(
            write_post("2022-01-07-FEED1.md", f"---\ntitle: 标题\ndate: 2022-01-07\n---\n> {digest}\n\n<p>正文</p>\n")
        )
    assert Article.objects.get().summary == "<img src=x onerror=alert(1)> 央行"

    for url in ("/feed.xml", "/category/wei-fen-lei/feed/"):
        feed = BeautifulSoup(client.get(url).content, "xml")
        (summary,) = feed.find_all("summary")
        assert summary["type"] == "text", url
        assert summary.string == "<img src=x onerror=alert(1)> 央行", url


class TestNamesOfDrafts:
    """A tag, stock or category used only by drafts or scheduled articles has no page: its name stays unseen."""

    @pytest.fixture
    def hidden_topics(self, db):
        category = make_category("neibu", title="内部分类")
        stock = make_stock("688999", name="未公开公司")
        draft = make_article(category=category, tags=["内部标签"], stocks=[stock], status=Article.Status.DRAFT)
        scheduled = make_article(
            category=category, tags=["内部标签"], stocks=[stock], published_at=timezone.now() + dt.timedelta(days=1)
        )
        return draft, scheduled, category, Tag.objects.get(name="内部标签"), stock

    def test_their_pages_and_feeds_are_404(self, client, hidden_topics):
        *_, category, tag, stock = hidden_topics
        for topic in (category, tag, stock):
            assert client.get(topic.get_absolute_url()).status_code == 404
            assert client.get(f"{topic.get_absolute_url()}feed/").status_code == 404

    def test_they_appear_once_an_article_is_published(self, client, hidden_topics, django_capture_on_commit_callbacks):
        draft, _, category, tag, stock = hidden_topics
        with django_capture_on_commit_callbacks(execute=True):
            publishing.set_status(Article.objects.filter(pk=draft.pk), Article.Status.PUBLISHED)
        for topic in (category, tag, stock):
            assert client.get(topic.get_absolute_url()).status_code == 200
