"""Search text: the tokens both databases index, and the highlighted snippet readers see.

Chinese has no spaces, and neither SQLite's FTS5 tokenizer nor PostgreSQL's parser splits it.
Each CJK character becomes a token of its own and a query term is matched as a phrase of
adjacent tokens: 降准, 太保 or 新能源 are found exactly where they occur, whatever a word
dictionary would have made of them, and a one-character query works too. Letters and digits
(601601, NIO, BK0493) stay whole tokens. Full-width forms are folded (ＮＩＯ -> nio).
"""

import re
import unicodedata

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[0-9a-z]+")
MAX_QUERY_LENGTH = 100
MAX_QUERY_TERMS = 10
# Bounded so that a several-megabyte post cannot exceed PostgreSQL's tsvector limits.
MAX_INDEXED_CHARACTERS = 20_000


def tokens(text):
    return _TOKEN.findall(unicodedata.normalize("NFKC", text or "").lower())


def index_text(text):
    """``text`` as space-separated tokens, the form stored in the index."""
    return " ".join(tokens((text or "")[:MAX_INDEXED_CHARACTERS]))


def query_terms(query):
    """The query's terms, each a list of tokens to find as a phrase; at most ten terms."""
    terms = []
    for word in (query or "")[:MAX_QUERY_LENGTH].split():
        term = tokens(word)
        if term and term not in terms:
            terms.append(term)
    return terms[:MAX_QUERY_TERMS]


def highlight(text, terms, width=120):
    """A plain-text excerpt of ``text`` around the first match, with the matched words in <mark>.

    Everything but the <mark> tags is escaped.
    """
    folded = unicodedata.normalize("NFKC", text).lower()
    if len(folded) != len(text):
        # Offsets found in the folded text must hold in the original.
        folded = text
    patterns = [r"\W*".join(re.escape(token) for token in term) for term in terms]
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
