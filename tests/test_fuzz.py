"""Property-based tests: whatever the scraper writes, the import takes it or says why."""

import tracemalloc

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from articles.intake import reasons
from articles.intake.body import clean_body
from articles.intake.frontmatter import PostError, parse_front_matter
from articles.intake.importer import WRITE_FAILURE, Outcome, PostImporter
from articles.intake.posts import parse_post
from articles.intake.stocks import _CODE_PATTERNS, extract_stocks
from articles.models import Article
from articles.sanitize import sanitize_html
from tests.conftest import post_text

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Whole-file imports write to the database: fewer examples keep the suite fast.
FUZZ_IMPORT = settings(FUZZ, max_examples=60)

html_fragments = st.lists(
    st.sampled_from(
        [
            "<p>", "</p>", "<script>", "</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:x">', "</a>",
            "<!-- EM_StockImg_Start -->", "<!-- EM_StockImg_End -->", '<a data-code="1,600000">', '<span data-code="NIO|106|7">',
            '<a href="http://quote.eastmoney.com/unify/r/90.BK0493">', '<p class="em_media">', "（文章来源：", "）", "> ",
            "\n", "\r\n", "降准", "**", "[返回首页](../)", "<http://finance.eastmoney.com/news/1,2.html>", "<>", "<svg>",
            "<math>", "&lt;", "&#x0;", "\x00", "\u3000", "<style>", "<table><tr><td>", "<", ">", '"', "'", "---",
        ]
    )
    | st.text(max_size=20),
    max_size=60,
).map("".join)  # fmt: skip


@FUZZ
@given(st.binary(max_size=4000))
def test_parse_post_takes_any_bytes_or_says_why(tmp_path, raw):
    try:
        post = parse_post(tmp_path / "2022-01-07-F1.md", raw)
    except PostError as error:
        assert str(error)
    else:
        assert post.title and post.published_at.tzinfo is not None


@FUZZ
@given(st.text(max_size=3000))
def test_front_matter_parser_always_returns_a_mapping(block):
    try:
        data = parse_front_matter(block)
    except PostError:
        return
    assert isinstance(data, dict)


@FUZZ
@given(html_fragments)
def test_cleaned_body_never_carries_script(text):
    body = clean_body(text, [])
    soup = BeautifulSoup(body.html, "lxml")
    for element in soup.find_all(True):
        assert element.name not in {"script", "style", "iframe", "svg", "math", "form", "object", "embed"}
        for attribute, value in element.attrs.items():
            assert not attribute.startswith("on")
            if attribute in ("href", "src"):
                assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:"))
    assert "\x00" not in body.html and "\x00" not in body.summary


@FUZZ
@given(html_fragments)
def test_what_a_body_loses_is_said_and_read_in_chinese(text):
    warnings = []
    clean_body(text, warnings)
    for warning in warnings:
        assert reasons.in_chinese(warning) != warning, warning


@FUZZ
@given(html_fragments)
def test_stock_references_are_always_valid_codes(text):
    for stock in extract_stocks(BeautifulSoup(f"<body>{text}</body>", "lxml"), []):
        assert _CODE_PATTERNS[stock.market].match(stock.code)


@FUZZ
@given(html_fragments)
def test_sanitizer_is_idempotent(text):
    once = sanitize_html(text)
    # As a plain str: sanitize_html returns its own output (Sanitized) unread, which this justifies.
    assert sanitize_html(str(once)) == once


@pytest.mark.django_db
@FUZZ_IMPORT
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_importing_any_file_never_crashes(tmp_path, raw):
    path = tmp_path / "2022-01-07-FUZZ1.md"
    path.write_bytes(raw)
    report = PostImporter().import_file(path)
    assert report.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.REJECTED)
    if report.outcome == Outcome.REJECTED:
        # Rejected for what is wrong with the file, never because writing it failed.
        assert report.reason and not report.reason.startswith(WRITE_FAILURE), report.reason


@pytest.mark.django_db
@FUZZ_IMPORT
@given(
    title=st.text(min_size=1, max_size=300),
    body=html_fragments,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
    truncate=st.integers(min_value=0, max_value=50),
)
def test_real_shaped_posts_in_any_encoding_import_or_say_why(tmp_path, title, body, encoding, truncate):
    text = post_text(title=f'"{title}"', body=body)
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        return
    path = tmp_path / "2022-01-07-FUZZ2.md"
    path.write_bytes(raw[: len(raw) - truncate] if truncate else raw)
    report = PostImporter().import_file(path)
    assert report.outcome != Outcome.REJECTED or (report.reason and not report.reason.startswith(WRITE_FAILURE))


@pytest.mark.django_db
def test_a_post_of_several_megabytes_imports_in_bounded_memory(write_post):
    """Python-level peak (tracemalloc) of one import; the benchmark measures whole-process RSS."""
    paragraph = "<p>" + "人民银行决定下调存款准备金率，" * 40 + '<a data-code="1,601601">中国太保</a></p>\n'
    body = paragraph * (6 * 1024 * 1024 // len(paragraph.encode()))
    path = write_post("2022-01-07-BIG1.md", post_text(body=body))
    size = path.stat().st_size

    tracemalloc.start()
    report = PostImporter().import_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert report.outcome == Outcome.CREATED
    assert Article.objects.get(info_code="BIG1").stocks.get().code == "601601"
    assert size > 5 * 1024 * 1024 and peak < 40 * size, f"peak {peak / 2**20:.0f} MB for a {size / 2**20:.1f} MB file"
