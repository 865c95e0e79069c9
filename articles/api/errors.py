"""The API's errors: ``{"message": "<English>", "detail": "<中文>"}`` whoever raised them.

``message`` is what the API always answered (scripts and logs may read it); ``detail`` says the same
in Chinese for the person who reads the answer. ninja's own handlers (articles/api/__init__.py)
cover its views; JsonErrorsMiddleware covers whatever Django answers under /api/.
"""

import re

from ninja.errors import HttpError

API_PREFIX = "/api/"

# By status, for an error that brings no Chinese of its own (Django's, or one ninja raises).
STATUS_IN_CHINESE = {
    400: "请求有误",
    401: "需要身份验证",
    403: "没有权限",
    404: "没有这个地址",
    405: "不支持这种请求方法",
    411: "请带上 Content-Length 头发送",
    413: "请求的内容太大",
    429: "请求太频繁，请稍后再试",
    500: "服务器出错了，请稍后再试",
    503: "服务暂时不可用，请稍后再试",
}

# pydantic's problems with a parameter (their ``type``), in Chinese; ``{…}`` from the problem's ctx.
PROBLEMS_IN_CHINESE = {
    "missing": "缺少这个参数",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "含有不允许的字符",
    "enum": "只能是 {expected} 之一",
    "int_parsing": "须是整数",
    "datetime_parsing": "须是 ISO 8601 的日期时间，如 2026-11-26T09:30",
    "datetime_from_date_parsing": "须是 ISO 8601 的日期时间，如 2026-11-26T09:30",
}


class ApiError(HttpError):
    """An HttpError with its Chinese: ``ApiError(404, "no stock 688999", "没有股票 688999")``."""

    def __init__(self, status_code, message, detail):
        super().__init__(status_code, message)
        self.detail = detail


def in_chinese(status_code):
    return STATUS_IN_CHINESE.get(status_code, f"请求未能完成（HTTP {status_code}）")


def body(message, detail):
    return {"message": message, "detail": detail}


def parameter_name(problem):
    """The parameter a pydantic problem (of ninja's ValidationError) is about: ``limit``, or where
    its ``loc`` names none, where (``body``)."""
    return ".".join(str(part) for part in problem["loc"][1:]) or str(problem["loc"][0])


def problem_in_chinese(problem):
    """A pydantic problem (of ninja's ValidationError) in Chinese: ``limit 不能大于 100``."""
    field = parameter_name(problem)
    context = dict(problem.get("ctx") or {})
    if "expected" in context:  # "'sh', 'sz' or 'hk'"
        context["expected"] = "、".join(re.findall(r"'([^']*)'", str(context["expected"])))
    try:
        said = PROBLEMS_IN_CHINESE.get(problem["type"], "格式不对").format(**context)
    except (KeyError, IndexError):
        said = "格式不对"
    return f"{field} {said}"


class JsonErrorsMiddleware:
    """Turns a non-JSON error under /api/ (Django's 404 for an unknown path, ninja's plain 405, the
    HTML 500 of an unexpected exception, a CSRF 403) into ``{"message": "<reason>", "detail": …}``
    with the same status and headers such as ``Allow`` and ``Retry-After``. The exception itself is
    logged by Django as before (logger ``django.request``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        detail = in_chinese(response.status_code)
        if response.status_code == 405 and "Allow" in response:
            detail = f"{detail}：这里只接受 {response['Allow']}"
        from . import api  # the API's renderer: the same UTF-8 and Content-Type as its own answers

        answer = api.create_response(request, body(response.reason_phrase.lower(), detail), status=response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                answer[header] = response[header]
        return answer
