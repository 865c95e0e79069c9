"""Reading the raw parts of a Jekyll post: text encoding, front matter, file-name facts.

The scraper that wrote these files did not escape its YAML, so a strict YAML load fails on
real posts (a title with unescaped ``"`` inside ``"..."``, an unquoted title containing ``: ``).
Each front matter is first loaded as safe YAML and, when that fails, read line by line the
way a person would read it.
"""

import datetime as dt
import re
from dataclasses import dataclass

import yaml

from articles.sanitize import without_control_characters
from articles.validators import BEIJING_TIME, MAX_INFO_CODE_LENGTH, is_url_code

MAX_FRONT_MATTER_CHARS = 64 * 1024


class PostError(ValueError):
    """A file that cannot be imported; the message is the reason shown to the operator."""


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


# A post that is text but for a few bytes (a stray 0x92, a Windows-1252 quote, in otherwise valid
# UTF-8) is imported with U+FFFD in their place, each named by line and column so that an
# operator can find it; more than this many is not a text file in that encoding.
MAX_UNDECODABLE_BYTES = 10


def decode_post(raw):
    """Return ``(text, warnings)`` for the file bytes: UTF-8 (BOM or not), UTF-16 with a BOM or GBK.

    Line endings become ``\\n`` and control characters are removed, with a warning saying how
    many. Up to MAX_UNDECODABLE_BYTES bytes that do not decode become U+FFFD, each with a warning
    naming its line and column (in UTF-8, or GBK if that reads the file with fewer and it is not
    UTF-8 with a few stray bytes); PostError naming the first one otherwise.
    """
    warnings = []
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            text = raw[len(bom) :].decode(encoding, errors="replace")
            break
    else:
        text, undecodable = _decoded(raw, "utf-8")
        if len(undecodable) == 1 and undecodable[0] >= len(raw) - 3:
            # A truncated file cut through its last multi-byte character: keep the rest.
            text = raw[: undecodable[0]].decode("utf-8")
            warnings.append("file ends in the middle of a UTF-8 character (truncated?)")
        elif undecodable:
            encoding = "UTF-8"
            gbk_text, gbk_undecodable = _decoded(raw, "gb18030")
            if len(gbk_undecodable) < len(undecodable) and not _utf8_with_stray_bytes(raw):
                text, undecodable, encoding = gbk_text, gbk_undecodable, "GBK"
                warnings.append("decoded as GBK")
            if len(undecodable) > MAX_UNDECODABLE_BYTES:
                raise PostError(
                    f"not text in UTF-8 or GBK encoding: more than {MAX_UNDECODABLE_BYTES} bytes do not decode, "
                    f"the first {_where(raw, undecodable[0], encoding)}"
                )
            warnings += [
                f"{_where(raw, position, encoding)} does not decode; kept as U+FFFD" for position in undecodable
            ]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = without_control_characters(text)
    if len(kept) < len(text):
        warnings.append(f"{len(text) - len(kept)} control character(s) (invisible, not text) dropped")
    return kept, warnings


def _utf8_with_stray_bytes(raw):
    """Whether ``raw`` (bytes) holds more well-formed multi-byte UTF-8 characters than undecodable
    stretches (each one U+FFFD when decoded with errors="replace": a stray byte, a cut sequence).
    GB18030 reads almost any bytes: a one-line flash item with five stray bytes read with fewer
    errors as GBK, every character of it mojibake. GBK text read as UTF-8 has at most about half as
    many well-formed characters as errors (every post of the corpus, encoded in GBK)."""
    text = raw.decode("utf-8", errors="replace")
    errors = text.count("\ufffd")
    return sum(1 for character in text if character > "\x7f") - errors > errors


def _decoded(raw, encoding):
    """``(text, positions)``: ``raw`` decoded with U+FFFD for each undecodable stretch, and the byte
    offsets where those start (at most MAX_UNDECODABLE_BYTES + 1 of them, then the rest is replaced
    without counting)."""
    parts, positions, start = [], [], 0
    while True:
        try:
            parts.append(raw[start:].decode(encoding))
            return "".join(parts), positions
        except UnicodeDecodeError as error:
            parts.append(raw[start : start + error.start].decode(encoding) + "\ufffd")
            positions.append(start + error.start)
            start += error.end
            if len(positions) > MAX_UNDECODABLE_BYTES:
                parts.append(raw[start:].decode(encoding, errors="replace"))
                return "".join(parts), positions


def _where(raw, position, encoding):
    """``byte 0x92 at line 3, column 7`` (columns in characters, as an editor counts them)."""
    line_start = raw.rfind(b"\n", 0, position) + 1
    column = len(raw[line_start:position].decode(encoding, errors="replace")) + 1
    line = raw.count(b"\n", 0, position) + 1
    return f"byte 0x{raw[position]:02X} at line {line}, column {column}"


def split_front_matter(text):
    """Return ``(front_matter_text, body_text)``; blank lines before the opening ``---`` are allowed."""
    lines = text.lstrip("\ufeff").split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines):
        raise PostError("empty file")
    if lines[start].rstrip() != "---":
        raise PostError("no front matter: the file does not start with a '---' line")
    for end in range(start + 1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            return "\n".join(lines[start + 1 : end]), "\n".join(lines[end + 1 :])
    raise PostError("front matter is not closed by a '---' line")


class _NoAliasLoader(yaml.BaseLoader):
    """Safe YAML (every scalar a string, no object tags) that refuses aliases, so no alias bomb."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


# libyaml (yaml.CBaseLoader) reads a front matter many times faster than PyYAML's own parser, to
# the same data, but for what their readers take differently: libyaml accepts tabs, BOMs, Unicode
# line breaks and control characters where PyYAML refuses the block (and the line reader then
# reads it); and only _NoAliasLoader refuses aliases ("*name"). A block with any of them, or one
# libyaml refuses, is read by _NoAliasLoader as before (tests/test_import.py compares the two).
_NOT_FOR_LIBYAML = re.compile("[*\t\ufeff\x85\u2028\u2029\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LIBYAML_LOADER = getattr(yaml, "CBaseLoader", None)


def _load_yaml(block):
    if _LIBYAML_LOADER is not None and not _NOT_FOR_LIBYAML.search(block):
        try:
            return yaml.load(block, Loader=_LIBYAML_LOADER)
        except (yaml.YAMLError, ValueError):
            pass
    return yaml.load(block, Loader=_NoAliasLoader)


def parse_front_matter(block):
    """Return the front matter as a dict of strings and lists of strings."""
    if len(block) > MAX_FRONT_MATTER_CHARS:
        raise PostError(f"front matter is larger than {MAX_FRONT_MATTER_CHARS // 1024} KB")
    try:
        data = _load_yaml(block)
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        data = _parse_front_matter_lines(block)
    return data


_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*))?$")
_LIST_ITEM_LINE = re.compile(r"^[ \t]*-[ \t]+(.*)$")


def _parse_front_matter_lines(block):
    data, current_key = {}, None
    for line in block.split("\n"):
        key_match = _KEY_LINE.match(line)
        if key_match:
            current_key = key_match[1]
            value = (key_match[2] or "").strip()
            data[current_key] = _flow_list(value) if value.startswith("[") else _unquote(value)
            continue
        item_match = _LIST_ITEM_LINE.match(line)
        if item_match and current_key:
            existing = data.get(current_key)
            items = existing if isinstance(existing, list) else ([existing] if existing else [])
            items.append(_unquote(item_match[1].strip()))
            data[current_key] = items
    return data


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def _flow_list(value):
    inner = value[1:-1] if value.endswith("]") else value[1:]
    return [_unquote(item.strip()) for item in inner.split(",") if item.strip()]


def as_text(value):
    """A front-matter value as one string (lists joined, mappings and nulls empty)."""
    if isinstance(value, list):
        return " ".join(as_text(item) for item in value)
    if isinstance(value, dict) or value is None:
        return ""
    return str(value).strip()


def as_list(value, split_spaces):
    """A front-matter value as a list of non-empty strings.

    Jekyll splits a string of tags on spaces, but a category string is one name: the old site
    has names with spaces such as ``21shijijingjibaodao  nancailicaitong``.
    """
    if isinstance(value, list):
        return [text for text in (as_text(item) for item in value) if text]
    text = as_text(value)
    if not text:
        return []
    return text.split() if split_spaces else [text]


_DATE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"[ \t]*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_date(value):
    """Parse a Jekyll date (``2022-01-07 12:35:20 +0800``); no zone means Beijing time.

    Returns an aware datetime, or None when the value is empty or not a valid date.
    """
    match = _DATE.match(as_text(value))
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    if zone is None:
        tzinfo = BEIJING_TIME
    elif zone == "Z":
        tzinfo = dt.UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset >= dt.timedelta(hours=24):
            return None
        tzinfo = dt.timezone(sign * offset)
    try:
        return dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tzinfo
        )
    except ValueError:
        return None


@dataclass(frozen=True)
class FileName:
    info_code: str
    date: dt.datetime | None


_FILE_NAME = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})-(.*)$")


def parse_file_name(path):
    """The info code and date that a post's file name (``2022-01-07-NW2022….md``) carries."""
    stem = path.stem
    match = _FILE_NAME.match(stem)
    if match:
        date_text, info_code = match.groups()
        date = parse_date(date_text)
    else:
        # Jekyll's date is missing ("-202205262391921712.md"): the code is what follows the dash.
        info_code, date = stem[1:] if stem.startswith("-") else stem, None
    if not is_url_code(info_code, MAX_INFO_CODE_LENGTH):
        raise PostError(
            f"file name gives no usable info code ({stem!r}): it must be 1 to {MAX_INFO_CODE_LENGTH} ASCII letters, "
            "digits, '.', '_' or '-', and not '.' or '..'"
        )
    return FileName(info_code=info_code, date=date)
