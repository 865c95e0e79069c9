"""What stored values may be, checked at the model so that every write path holds them alike.

Info codes and stock codes go into URLs: they may hold exactly what a path segment carries as it is
(ASCII letters, digits, ``.``, ``_`` and ``-``), never ``.`` or ``..`` (which a browser resolves
away), and the URL converters (converters.py) accept every such value. Names and titles are plain
text: what comes in with markup is reduced to text by the import and the admin forms
(sanitize.plain_label), and what still holds markup is refused.
"""

import re

from django.core.exceptions import ValidationError

from .sanitize import plain_label

CODE_CHARACTERS = "A-Za-z0-9._-"
MAX_INFO_CODE_LENGTH = 64
MAX_STOCK_CODE_LENGTH = 20
INFO_CODE_REGEX = rf"[{CODE_CHARACTERS}]{{1,{MAX_INFO_CODE_LENGTH}}}"
STOCK_CODE_REGEX = rf"[{CODE_CHARACTERS}]{{1,{MAX_STOCK_CODE_LENGTH}}}"
_DOT_SEGMENTS = {".", ".."}


def is_url_code(value, max_length):
    """Whether ``value`` is a code a URL carries as it is, of at most ``max_length`` characters."""
    return (
        isinstance(value, str)
        and re.fullmatch(rf"[{CODE_CHARACTERS}]{{1,{max_length}}}", value) is not None
        and value not in _DOT_SEGMENTS
    )


def validate_info_code(value):
    if not is_url_code(value, MAX_INFO_CODE_LENGTH):
        raise ValidationError(
            "资讯编号只能由英文字母、数字和 . _ - 组成（不能是 . 或 ..），最多 %(max)d 个字符：“%(value)s”不行。",
            code="invalid_info_code",
            params={"max": MAX_INFO_CODE_LENGTH, "value": value},
        )


def validate_stock_code(value):
    if not is_url_code(value, MAX_STOCK_CODE_LENGTH):
        raise ValidationError(
            "股票代码只能由英文字母、数字和 . _ - 组成（不能是 . 或 ..），最多 %(max)d 个字符：“%(value)s”不行。",
            code="invalid_stock_code",
            params={"max": MAX_STOCK_CODE_LENGTH, "value": value},
        )


def validate_plain_text(value):
    """Titles and names are text: no HTML tags, comments or character entities."""
    if plain_label(value, whitespace="keep") != value.strip():
        raise ValidationError(
            "不能包含 HTML 标签或字符实体（如 <b>、&amp;），请只写文字：“%(value)s”。",
            code="markup",
            params={"value": value},
        )
