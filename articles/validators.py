"""What stored values may be, checked at the model so that every write path holds them alike.

Info codes and stock codes go into URLs: they may hold exactly what a path segment carries as it is
(ASCII letters, digits, ``.``, ``_`` and ``-``), never ``.`` or ``..`` (which a browser resolves
away), and the URL converters (converters.py) accept every such value. Names and titles are plain
text, kept as written, without control or invisible format characters (sanitize.plain_label).
"""

import datetime as dt
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from .sanitize import CONTROL_CHARACTERS, plain_label

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


@deconstructible
class UrlCodeValidator:
    """Refuses a code (of ``what``: 资讯编号, 股票代码) that a URL cannot carry as it is."""

    def __init__(self, what, max_length):
        self.what, self.max_length = what, max_length

    def __call__(self, value):
        if not is_url_code(value, self.max_length):
            raise ValidationError(
                "%(what)s只能由英文字母、数字和 . _ - 组成（不能是 . 或 ..），最多 %(max)d 个字符：“%(value)s”不行。",
                code="invalid_code",
                params={"what": self.what, "max": self.max_length, "value": value},
            )

    def __eq__(self, other):
        return isinstance(other, UrlCodeValidator) and (self.what, self.max_length) == (other.what, other.max_length)


# Beijing time, UTC+8 at every date (settings.TIME_ZONE). Asia/Shanghai is not: before 1901 it is
# local mean time (+08:05:43, which Atom and ISO 8601 readers refuse) and in the summers of
# 1986 to 1991 +09:00.
BEIJING_TIME = zoneinfo.ZoneInfo("Etc/GMT-8")
# The publication times the site shows, sends and exports: news of this site's era, with room on
# both sides, and never near the ends of what Python's datetime and the databases hold (a time
# in year 1 or 9999 overflows once it is moved to another zone or a day is added).
EARLIEST_PUBLICATION = dt.datetime(1990, 1, 1, tzinfo=BEIJING_TIME)
LATEST_PUBLICATION = dt.datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=BEIJING_TIME)


def is_publication_time(value):
    """Whether the aware datetime ``value`` is within EARLIEST_PUBLICATION..LATEST_PUBLICATION."""
    return EARLIEST_PUBLICATION <= value <= LATEST_PUBLICATION


def validate_publication_time(value):
    """Refuses a 发布时间 outside 1990-01-01 00:00 .. 2100-12-31 23:59:59 Beijing time."""
    if not is_publication_time(value):
        raise ValidationError(
            "发布时间须在 %(earliest)s 到 %(latest)s（北京时间）之间。",
            code="publication_time_range",
            params={"earliest": f"{EARLIEST_PUBLICATION:%Y-%m-%d}", "latest": f"{LATEST_PUBLICATION:%Y-%m-%d}"},
        )


validate_info_code = UrlCodeValidator("资讯编号", MAX_INFO_CODE_LENGTH)
validate_stock_code = UrlCodeValidator("股票代码", MAX_STOCK_CODE_LENGTH)


def validate_no_control_characters(value):
    """Text holds no control characters (sanitize.CONTROL_CHARACTERS): one would break the feeds."""
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            "不能包含控制字符（换页、退格等看不见的字符，常随别处粘贴的文字而来）：请删去它们。",
            code="control_characters",
        )


def validate_plain_text(value):
    """Titles and names are text as written (``<b>`` and ``<AAPL.O>`` included: nothing in them is
    markup), without control characters or invisible format characters (sanitize.plain_label)."""
    validate_no_control_characters(value)
    if plain_label(value, whitespace="keep") != value.strip():
        raise ValidationError(
            "不能包含看不见的格式字符（如从右到左的方向控制符 U+202E、零宽空格），常随别处粘贴的文字而来：请删去它们。",
            code="format_characters",
        )
