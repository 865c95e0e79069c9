"""Search text: the tokens both databases index, the phrases queries look for, and snippets.

Chinese has no spaces, and neither SQLite's FTS5 tokenizer nor PostgreSQL's parser splits it.
Here every CJK character gets a token of its own position: the pair of characters it starts
(新能源 -> 新能 能源 源), or the character alone when it ends its run. A query word is then the
phrase of its pairs, so 降准 is one token and 新能源 the phrase 新能 能源: exact wherever the word
occurs, whatever a word dictionary would have made of it, and cheap even for words found in a
large share of all articles, where phrases of single characters were not. A word ending in a lone
character (股, A股) ends in a prefix token (股*), which both databases answer from an index.
Letters and digits (601601, NIO, BK0493) stay whole tokens. Full-width forms are folded
(ＮＩＯ -> nio).
"""

import functools
import logging
import re
import unicodedata

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(rf"[{_CJK}]+")
# A run of CJK characters or of letters and digits; anything else separates.
_PIECE = re.compile(rf"[{_CJK}]+|[0-9a-z]+")
# Invisible characters that pasted text carries inside words (soft hyphen, zero-width space and
# joiners, direction marks, BOM): they separate nothing, so they are dropped before tokenizing.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
MAX_QUERY_LENGTH = 100
# A share's code as quote sites and terminals write it with its exchange: 601601.SH and 00700.HK
# (Wind's and the exchanges' suffixes), SH601601 and sz000001 (East Money's and Sina's quote
# addresses). The index holds the bare code (index_entry), so a query asks for that.
_CODE_WITH_EXCHANGE = re.compile(r"(?:(SH|SZ|BJ|HK)[.:]?(\d{4,6})|(\d{4,6})\.(SH|SZ|BJ|HK))", re.IGNORECASE)
# The digits of a code by exchange: six in Shanghai, Shenzhen and Beijing; five at HKEX, which
# Yahoo Finance and many readers write with four (0700.HK for 00700).
_CODE_DIGITS = {"SH": (6,), "SZ": (6,), "BJ": (6,), "HK": (4, 5)}
# A US ticker as Chinese financial news writes it, with Wind's and Reuters' exchange suffix: 苹果
# (AAPL.O) on NASDAQ, 蔚来(NIO.N) on NYSE, .A on NYSE American; AAPL.US as brokers' apps write it.
# East Money's class shares (BRK_A) keep their underscore.
_US_CODE_WITH_EXCHANGE = re.compile(r"([A-Z]{1,5}(?:_[A-Z])?)\.(OQ|O|N|A|US)", re.IGNORECASE)
MAX_QUERY_TERMS = 10
# Bounded so that a several-megabyte post cannot exceed PostgreSQL's tsvector limits, and so that
# every token keeps its true position there (positions stop at 16,383): a phrase is found in the
# first 16,000 characters of a body on either database, and beyond them on neither.
MAX_INDEXED_CHARACTERS = 16_000


def _pieces(text):
    return _PIECE.findall(_INVISIBLE.sub("", unicodedata.normalize("NFKC", text or "")).lower())


def _is_cjk(piece):
    return bool(_CJK_RUN.match(piece))


def index_text(text):
    """``text`` as space-separated tokens, one per position, the form stored in the index."""
    tokens = []
    for piece in _pieces((text or "")[:MAX_INDEXED_CHARACTERS]):
        if _is_cjk(piece):
            tokens += [piece[start : start + 2] for start in range(len(piece))]
        else:
            tokens.append(piece)
    return " ".join(tokens)


def query_terms(query):
    """The query's terms, in its order: each a tuple of pieces (CJK runs, letter-and-digit runs),
    as query_words makes them, once each (NIO and nio, or 601601 and SH601601, are one term)."""
    return list(dict.fromkeys(term for _, term in query_words(query) if term))


def query_words(query):
    """The words search reads of ``query``, in its order, as (word, term): its first
    MAX_QUERY_LENGTH characters split at whitespace, each word with the term it is searched as,
    its pieces (those of the bare code for a code written with its exchange: SH601601 ->
    ("601601",)). The term is () for a word of no letter, digit or CJK character, and for a word
    whose term would be one more than MAX_QUERY_TERMS. Tags are found by the words as written
    (names.names_in)."""
    words, terms = [], set()
    for word in (query or "")[:MAX_QUERY_LENGTH].split():
        code = code_with_exchange(word)
        term = tuple(_pieces(code[0] if code else word))
        if term not in terms and len(terms) == MAX_QUERY_TERMS:
            term = ()
        if term:
            terms.add(term)
        words.append((word, term))
    return words


def code_with_exchange(word):
    """(code, exchange) of a share's code written with its exchange (601601.SH -> ("601601",
    "SH"); 0700.HK and HK00700 -> ("00700", "HK"); aapl.o -> ("AAPL", "O")), the exchange in
    capitals; None for any other word, and for a code of the wrong length for its exchange
    (_CODE_DIGITS)."""
    word = unicodedata.normalize("NFKC", word)
    written = _CODE_WITH_EXCHANGE.fullmatch(word)
    if written is None:
        us = _US_CODE_WITH_EXCHANGE.fullmatch(word)
        return (us[1].upper(), us[2].upper()) if us else None
    exchange, code = (written[1], written[2]) if written[1] else (written[4], written[3])
    exchange = exchange.upper()
    if len(code) not in _CODE_DIGITS[exchange]:
        return None
    return (code.zfill(5) if exchange == "HK" else code), exchange


def tag_token(tag_id):
    """The index token of the tag ``tag_id``, among the tokens of what its articles are listed under.

    Digits and then CJK characters: index_text never makes such a token (letters and digits are
    tokens apart from characters), no query phrase asks for one, and the only prefix a query asks
    for is a CJK character. So only a query naming the tag (SearchResults) finds its articles
    this way, and renaming it changes no index entry.
    """
    return f"{tag_id}标签"


def split_into_words(query):
    """``query`` with its Chinese split into dictionary words (jieba): 央行降准 -> 央行 降准.

    For a query not found as written: its words may stand apart in an article ("央行宣布降准").
    Single characters split off (的, 通) are dropped: alone they would match almost anything.
    None when splitting leaves no more than one word, or changes nothing.
    """
    words = []
    for word in (query or "")[:MAX_QUERY_LENGTH].split():
        words += [piece for piece in _jieba().lcut(word) if len("".join(_pieces(piece))) > 1]
    split = " ".join(words)
    return split if len(words) > 1 and query_terms(split) != query_terms(query) else None


@functools.cache
def _jieba():
    # Imported on first use: loading its dictionary takes most of a second, which only the
    # searches that need it should pay. Its own log lines would go to stderr.
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def phrase(term):
    """The tokens ``term`` is found by, as (token, is_prefix) pairs that must stand adjacent.

    Positions match index_text's: a CJK run gives its pairs, then its last character alone if
    the term goes on after it (the indexed run ends there too). At the end of the term the text
    may go on, so a run longer than one character stops at its last pair, and a lone character
    becomes a prefix: 股 is the token 股 or any pair starting with it.
    """
    tokens = []
    for number, piece in enumerate(term):
        if not _is_cjk(piece):
            tokens.append((piece, False))
            continue
        tokens += [(piece[start : start + 2], False) for start in range(len(piece) - 1)]
        if number < len(term) - 1:
            tokens.append((piece[-1], False))
        elif len(piece) == 1:
            tokens.append((piece, True))
    return tokens


def _piece_pattern(piece):
    if _is_cjk(piece):
        return re.escape(piece)
    # Letters and digits match whole, as in the index: FF is not highlighted inside "off".
    return rf"(?<![0-9a-z]){re.escape(piece)}(?![0-9a-z])"


def highlight(text, terms, width=120):
    """A plain-text excerpt of ``text`` around the first match, with the matched words in <mark>.

    Everything but the <mark> tags is escaped.
    """
    folded = unicodedata.normalize("NFKC", text).lower()
    if len(folded) != len(text):
        # Offsets found in the folded text must hold in the original.
        folded = text
    patterns = [r"\W*".join(_piece_pattern(piece) for piece in term) for term in terms]
    matcher = re.compile("|".join(patterns)) if patterns else None
    first = matcher.search(folded) if matcher else None
    start = max(0, first.start() - width // 3) if first else 0
    end = min(len(text), start + width)
    pieces, position = [], start
    for match in matcher.finditer(folded, start, end) if matcher else ():
        pieces.append(conditional_escape(text[position : match.start()]))
        pieces.append(format_html("<mark>{}</mark>", text[match.start() : match.end()]))
        position = match.end()
    pieces.append(conditional_escape(text[position:end]))
    prefix, suffix = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
    # Every piece above is escaped or built by format_html.
    return SafeString(prefix + "".join(pieces) + suffix)
