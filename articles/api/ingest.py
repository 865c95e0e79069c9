"""The scraper's ingest: a post file's bytes, sent with a bearer token, go through the same importer
as import_posts."""

import logging
from collections import Counter
from pathlib import PurePosixPath

from django.conf import settings
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle

from articles.intake import reasons
from articles.intake.frontmatter import PostError, parse_file_name
from articles.intake.importer import MAX_FILE_BYTES, POST_EXTENSIONS, FileReport, Outcome, PostImporter
from articles.intake.runs import finish_run, start_run, worth_recording
from articles.models import Article, ImportRun, IngestToken

from .errors import ApiError
from .schemas import IngestResult, Message

logger = logging.getLogger("articles.api")
router = Router()


class IngestTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        return IngestToken.objects.authenticated(token)


class IngestThrottle(AuthRateThrottle):
    """ninja's throttle per token, at ``settings.INGEST_REQUESTS_PER_MINUTE`` posts a minute.

    ninja keeps each token's recent request times in Django's cache with get() and set() only;
    finews's cache (finews.cache.FailOpenRedisCache) answers a miss and skips the write while Redis
    is unreachable, so pushes then go on unthrottled rather than failing.
    """

    def __init__(self):
        super().__init__(rate=self._rate())

    def allow_request(self, request):
        # Read per request: the setting may change while the process runs (tests, a reload).
        self.num_requests, self.duration = self.parse_rate(self._rate())
        return super().allow_request(request)

    @staticmethod
    def _rate():
        return f"{settings.INGEST_REQUESTS_PER_MINUTE}/m"


OUTCOME_STATUS = {
    Outcome.CREATED: 201,
    Outcome.UPDATED: 200,
    Outcome.UNCHANGED: 200,
    Outcome.CONFLICT: 409,
    Outcome.REJECTED: 422,
}


@router.post(
    "/posts/",
    auth=IngestTokenAuth(),
    throttle=IngestThrottle(),
    response={
        201: IngestResult,
        200: IngestResult,
        409: IngestResult,
        422: IngestResult,
        400: Message,
        401: Message,
        411: Message,
        413: Message,
        429: Message,
    },
    summary="Push one post file, exactly as the scraper writes it to _posts/",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def ingest_post(request, name: str = Query(..., max_length=200, description="the file name, e.g. 2022-01-07-NW1.md")):
    token = request.auth
    path = _post_path(token, name)
    raw = _body(request)
    run = start_run(ImportRun.Source.API, token.name)
    report = PostImporter().import_file(path, raw=raw)
    finish_run(run, Counter([report.outcome]), [report] if worth_recording(report) else [])
    IngestToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    logger.info("ingest token=%s name=%s outcome=%s", token.name, name, report.outcome)
    return Status(OUTCOME_STATUS[report.outcome], _result(report, request))


def _post_path(token, name):
    """The path a pushed post is known by (its file name under api/<token>/); 400 for a bad name."""
    if "/" in name or "\\" in name or name.startswith(".") or not name.lower().endswith(tuple(POST_EXTENSIONS)):
        raise ApiError(
            400,
            f"name: a post's file name, such as 2022-01-07-NW1.md, not {name!r}",
            f"name 须是一篇稿件的文件名，如 2022-01-07-NW1.md，而不是“{name}”",
        )
    path = PurePosixPath("api", token.name, name)
    try:
        parse_file_name(path)
    except PostError as error:
        raise ApiError(400, f"name: {error}", f"name 不可用：{reasons.in_chinese(str(error))}") from None
    return path


def _body(request):
    """The pushed file's bytes, at most MAX_FILE_BYTES: 413 past that.

    A chunked request (Transfer-Encoding: chunked, no Content-Length) is read to its end where the
    server decoded the chunks and marks the stream as ending (gunicorn: ``wsgi.input_terminated``);
    Django alone reads such a body as empty, which was recorded as an empty file's rejection.
    Elsewhere it is 411: the length is needed to know where the body ends.
    """
    megabytes = MAX_FILE_BYTES // (1024 * 1024)
    too_large = ApiError(413, f"a post may not be larger than {megabytes} MB", f"一篇稿件不能超过 {megabytes} MB")
    declared = request.META.get("CONTENT_LENGTH", "")
    if declared:
        if not declared.isdigit() or int(declared) > MAX_FILE_BYTES:
            raise too_large
        raw = request.read(MAX_FILE_BYTES + 1)
    elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        if not request.META.get("wsgi.input_terminated"):
            raise ApiError(411, "send the post with a Content-Length header", "请带上 Content-Length 头发送稿件")
        raw = _read_to_end(request.META["wsgi.input"], MAX_FILE_BYTES + 1)
    else:
        raw = b""
    if len(raw) > MAX_FILE_BYTES:
        raise too_large
    return raw


def _read_to_end(stream, limit):
    parts, size = [], 0
    while size < limit and (part := stream.read(min(64 * 1024, limit - size))):
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _result(report: FileReport, request):
    info_code = parse_file_name(report.path).info_code
    article = Article.objects.filter(info_code=info_code).only("info_code", "slug").first()
    url = request.build_absolute_uri(article.get_absolute_url()) if article else None
    return {
        "outcome": report.outcome.value,
        "info_code": info_code,
        "url": url,
        "reason": report.reason,
        "detail": reasons.in_chinese(report.reason) if report.reason else "",
        "warnings": report.warnings,
    }
