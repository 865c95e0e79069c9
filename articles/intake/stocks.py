"""Finding the stocks and sector boards an East Money article mentions.

East Money marks them in several ways, all in the corpus:
``data-code="601601|1|1"`` (code|market|kind, on K-line chart links), ``data-code="1,600160"``
and ``data-code="90,BK0493"`` (market,code, on auto-linked names) and quote links
``quote.eastmoney.com/unify/r/<market>.<code>``. The link text, where there is one, is the name;
a chart link has none, and the name is then the one the text writes beside the code
(``中国太保（601601）``, ``中国太保(601601.SH)``, ``腾讯控股(00700)``).
"""

import re
from dataclasses import dataclass

from articles.models import EASTMONEY_MARKET_IDS, Market
from articles.sanitize import plain_label

from .labels import label_with_warnings
from .trees import elements

_CODE_PATTERNS = {
    Market.SHANGHAI: re.compile(r"^\d{6}$"),
    Market.SHENZHEN: re.compile(r"^\d{6}$"),
    Market.HONG_KONG: re.compile(r"^\d{5}$"),
    Market.NASDAQ: re.compile(r"^[A-Z][A-Z0-9._-]{0,9}$"),
    Market.NYSE: re.compile(r"^[A-Z][A-Z0-9._-]{0,9}$"),
    Market.AMEX: re.compile(r"^[A-Z][A-Z0-9._-]{0,9}$"),
    Market.BOARD: re.compile(r"^BK\d{4}$"),
}
_PIPE_FORM = re.compile(r"^(?:K\s+)?([A-Za-z0-9._-]+)\|(\d+)\|")
_COMMA_FORM = re.compile(r"^(\d+),([A-Za-z0-9._-]+)$")
_QUOTE_LINK = re.compile(r"quote\.eastmoney\.com/unify/r/(\d+)\.([A-Za-z0-9._-]+)")
MAX_NAME_LENGTH = 100
# A name written beside its code in the text: the run of Chinese characters before a bracketed
# A-share (6 digits) or Hong Kong (5 digits) code, with the exchange's suffix or not.
_NAME_BESIDE_CODE = re.compile(
    r"([\u4e00-\u9fff]{2,})(-[A-Z]{1,2}|[AB])?\s*[（(]\s*(\d{6}|\d{5})(?:\.(SH|SZ|HK))?\s*[）)]", re.IGNORECASE
)
_SUFFIX_MARKETS = {"SH": Market.SHANGHAI, "SZ": Market.SHENZHEN, "HK": Market.HONG_KONG}
# A-share names are at most four characters (the exchanges' rule for abbreviations); Hong Kong
# ones a few more.
_LONGEST_NAME = {6: 4, 5: 6}


@dataclass(frozen=True)
class StockMention:
    code: str
    market: str
    name: str = ""


def normalise(market_id, code):
    """Return ``(market, code)`` for an East Money market id and code, or None if either is invalid."""
    market = EASTMONEY_MARKET_IDS.get(market_id.strip())
    if market is None:
        return None
    code = code.strip().upper()
    if market == Market.HONG_KONG and code.isdigit():
        code = code.zfill(5)
    if not _CODE_PATTERNS[market].match(code):
        return None
    return market, code


def stock_from_front_matter(item, warnings):
    """The StockMention of a front matter entry ``{market: sh, code: "601601", name: 中国太保}``, or
    None; what its name loses to plain_label is added to the list ``warnings`` (label_with_warnings)."""
    if not isinstance(item, dict):
        return None
    market, code = str(item.get("market", "")).strip(), str(item.get("code", "")).strip()
    if market not in _CODE_PATTERNS or not _CODE_PATTERNS[market].match(code):
        return None
    name = label_with_warnings(str(item.get("name") or ""), _named(market, code), MAX_NAME_LENGTH, warnings)
    return StockMention(code=code, market=market, name=name)


def _named(market, code):
    # The stock's market and code in its warnings (reasons.py reads them back), so that an editor
    # finds it in the admin without hunting for which stock a cut name belonged to.
    return f"stock {market}:{code} name"


def _reference_of(element):
    data_code = (element.get("data-code") or "").strip()
    match = _PIPE_FORM.match(data_code)
    if match:
        return normalise(match[2], match[1])
    match = _COMMA_FORM.match(data_code)
    if match:
        return normalise(match[1], match[2])
    match = _QUOTE_LINK.search(element.get("href") or "")
    if match:
        return normalise(match[1], match[2])
    return None


def _is_in_source_line(element):
    # East Money auto-links words inside the attribution line too: in （文章来源：上海证券报）
    # the word 证券 links to board BK0473, which the article is not about.
    return any("em_media" in (parent.get("class") or []) for parent in element.parents)


def _mentions_stock(tag):
    return tag.has_attr("data-code") or (tag.name == "a" and _QUOTE_LINK.search(tag.get("href") or ""))


def extract_stocks(soup, warnings):
    """Every stock mentioned in ``soup`` (a BeautifulSoup tree), in order of first mention.

    The name is the first non-empty link text given for that stock; for a stock whose links give
    none (chart links), the name the text writes beside its code (names_beside_codes), if any.
    What a link text kept as a name loses to plain_label (its end past MAX_NAME_LENGTH, say) is
    added to the list ``warnings`` (label_with_warnings).
    """
    link_texts = {}
    for element in elements(soup, _mentions_stock):
        reference = _reference_of(element)
        if reference is None or _is_in_source_line(element):
            continue
        text = element.get_text()
        if plain_label(text) in ("", reference[1]):
            text = ""  # no name, or a link showing the code itself
        if not link_texts.get(reference):
            link_texts[reference] = text
    names = {
        (market, code): label_with_warnings(text, _named(market, code), MAX_NAME_LENGTH, warnings)
        for (market, code), text in link_texts.items()
    }
    if not all(names.values()):
        written = names_beside_codes(soup.get_text())
        for market, code in [reference for reference, name in names.items() if not name]:
            names[(market, code)] = written.get((market, code)) or written.get((None, code), "")
    return [StockMention(code=code, market=market, name=name) for (market, code), name in names.items()]


def names_beside_codes(text):
    """{(market or None, code): name} for each name ``text`` writes beside a bracketed code, the
    first for each: ``中国太保（601601）`` gives ``{(None, "601601"): "中国太保"}``,
    ``港交所(00388.HK)`` gives ``{("hk", "00388"): "港交所"}``.

    The characters before the bracket may run on from the sentence (``白酒股龙头贵州茅台``): the
    name is the longest ending of at most _LONGEST_NAME characters that the text writes elsewhere
    too (a post names its company more than once), else the last _LONGEST_NAME characters.
    """
    names = {}
    for match in _NAME_BESIDE_CODE.finditer(text):
        run, suffix, code, exchange = match.groups()
        longest = _LONGEST_NAME[len(code)]
        endings = [run[-length:] for length in range(min(len(run), longest), 1, -1)]
        name = next((ending for ending in endings if text.count(ending) > 1), endings[0]) + (suffix or "")
        market = _SUFFIX_MARKETS.get((exchange or "").upper())
        names.setdefault((market, code), plain_label(name, max_length=MAX_NAME_LENGTH))
        if market is None and len(code) == 5:
            names.setdefault((Market.HONG_KONG, code), names[(None, code)])
    return names
