"""Emphasis in Chinese Markdown: the CJK-friendly flanking rule and the ``*ST`` stock prefix.

CommonMark decides whether a run of ``*`` opens or closes emphasis by its neighbours: a run after
punctuation and before a letter may open but never close. Chinese puts full-width punctuation
inside bold text and no space after it, so ``**重要提示：**公司股票…`` stayed literal asterisks.
The rule here is that of markdown-it-cjk-friendly (https://github.com/tats-u/markdown-cjk-friendly,
``packages/markdown-it-cjk-friendly/src/index.ts``, MIT): when the character on either side of a
``*`` run is CJK (East Asian Width F, H or W and not an emoji, or Hangul), the run may open and
close as if that side were punctuation. ``_`` keeps CommonMark's rule, as in that plugin.

``*ST`` and ``S*ST`` are the exchanges' risk-warning prefixes of a stock's name (``*ST海航``):
an asterisk directly before ``ST`` and a Han character is text, never a delimiter, so
``*ST海航和*ST天娱`` is not emphasis.
"""

import re
import unicodedata

from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.rules_inline.state_inline import Delimiter, Scanned

# ``*ST`` before the stock's name: the asterisk that belongs to the name is the run's last one.
STOCK_NAME_PREFIX = re.compile(r"\*ST(?=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_GENERAL_VARIATION_SELECTORS = range(0xFE00, 0xFE0F)  # U+FE00..U+FE0E; U+FE0F asks for emoji
_IDEOGRAPHIC_VARIATION_SELECTORS = range(0xE0100, 0xE01F0)


def cjk_friendly_emphasis(md):
    """markdown-it-py plugin: replace the inline ``emphasis`` rule by ``tokenize`` below."""
    md.inline.ruler.at("emphasis", tokenize)


def tokenize(state, silent):
    """The emphasis rule of markdown-it (``rules_inline/emphasis.py``) with the scan below, and
    a stock name's ``*`` pushed as text."""
    start, marker = state.pos, state.src[state.pos]
    if silent or marker not in "*_":
        return False
    end = start
    while end < state.posMax and state.src[end] == marker:
        end += 1
    length = end - start
    name_asterisk = marker == "*" and STOCK_NAME_PREFIX.match(state.src, end - 1, state.posMax) is not None
    if name_asterisk:
        length -= 1
    scanned = _scan(state, start, end, marker == "*")
    for _ in range(length):
        token = state.push("text", "", 0)
        token.content = marker
        state.delimiters.append(
            Delimiter(
                marker=ord(marker),
                length=length,
                token=len(state.tokens) - 1,
                end=-1,
                open=scanned.can_open,
                close=scanned.can_close,
            )
        )
    if name_asterisk:
        state.push("text", "", 0).content = "*"
    state.pos = end
    return True


def _scan(state, start, end, can_split_word):
    """Whether the run ``src[start:end]`` may open and close emphasis (markdown-it-cjk-friendly's
    ``scanDelims``)."""
    last = state.src[start - 1] if start > 0 else " "
    cjk_before = _is_cjk_before(last)
    if ord(last) in _GENERAL_VARIATION_SELECTORS and start > 1:
        # A variation selector belongs to the character before it.
        selector, base = last, state.src[start - 2]
        if unicodedata.category(base) != "Zs":
            last = base
        cjk_before = _is_cjk(base)
        if cjk_before is None:
            cjk_before = selector == "\ufe01" and base in "‘’“”"  # a full-width quotation mark
    following = state.src[end] if end < state.posMax else " "
    last_is_space, next_is_space = isWhiteSpace(ord(last)), isWhiteSpace(ord(following))
    if last_is_space or next_is_space:
        return Scanned(not next_is_space, not last_is_space, end - start)
    last_is_punctuation = isMdAsciiPunct(ord(last)) or isPunctChar(last)
    next_is_punctuation = isMdAsciiPunct(ord(following)) or isPunctChar(following)
    left_flanking, right_flanking = last_is_punctuation, next_is_punctuation
    if can_split_word:
        beside_cjk = _is_cjk(following) is True or cjk_before
        left_flanking = left_flanking or beside_cjk or not next_is_punctuation
        right_flanking = right_flanking or beside_cjk or not last_is_punctuation
    return Scanned(left_flanking, right_flanking, end - start)


def _is_cjk_before(character):
    # An ideographic variation selector follows a CJK ideograph.
    cjk = _is_cjk(character)
    return (ord(character) in _IDEOGRAPHIC_VARIATION_SELECTORS) if cjk is None else cjk


def _is_cjk(character):
    """True or False; None for East Asian Width "ambiguous" (“ ” ‘ ’ …), which the plugin decides
    by the other side."""
    code = ord(character)
    if code < 0x1100:
        return False
    width = unicodedata.east_asian_width(character)
    if width in ("F", "H"):
        return True
    if width == "W":
        return not _is_emoji(code)
    if width == "A":
        return None
    return width == "N" and "HANGUL" in unicodedata.name(character, "")


def _is_emoji(code):
    # The wide characters with Emoji_Presentation: the pictographs' planes and the wide symbols
    # of U+2300..U+2BFF (⌚ ☔ ⚡ ✅ ⭐ …). Python's re has no \p{Emoji_Presentation}.
    return 0x1F000 <= code <= 0x1FAFF or 0x2300 <= code <= 0x2BFF
