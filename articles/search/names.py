"""The tags and stocks a search query names: their articles match it (tags), and the results page
links their pages (美联储 -> 标签：美联储; 600519, 贵州茅台 or SH600519 -> 股票：贵州茅台 600519（上海）).

A tag's name is one of the query's words (美联储 降息 names 美联储) or a run of several of them
(Federal Reserve 降息 names Federal Reserve: names_in); a stock's, the whole query's or one of its
words' (贵州茅台 业绩 names 贵州茅台). A name matches whole, case and width aside (Federal Reserve,
federal reserve; ＡＡＰＬ and ６００５１９, as a Chinese input method types them in its full-width mode,
which the search folds too): each lookup reads the index on the names' capitals (Tag and
StockReference Meta.indexes), whatever the number of tags, stocks and articles. Whether a named
tag or stock has a page is asked only once one is named: that check costs more to build than the
lookups themselves, and most queries name none.
"""

import unicodedata

from django.db.models import Q, Value
from django.db.models.functions import Upper
from django.db.models.lookups import In

from articles.models import Market, StockReference, Tag, with_public_articles
from articles.validators import MAX_STOCK_CODE_LENGTH, is_url_code

from .text import MAX_QUERY_TERMS, code_with_exchange, query_words

# The most stocks a results page links: a name or a code shared by a few markets (中国平安 in
# Shanghai and Hong Kong) shows each; more would push the results down.
MOST_STOCKS_NAMED = 5
# The markets of each exchange a code is written with (text.code_with_exchange).
_EXCHANGE_MARKETS = {
    "SH": [Market.SHANGHAI],
    "SZ": [Market.SHENZHEN],
    "HK": [Market.HONG_KONG],
    "O": [Market.NASDAQ],
    "OQ": [Market.NASDAQ],
    "N": [Market.NYSE],
    "A": [Market.AMEX],
    "US": [Market.NASDAQ, Market.NYSE, Market.AMEX],
}


def folded(name):
    """``name`` as names are compared here: its full-width forms folded (NFKC), case aside."""
    return unicodedata.normalize("NFKC", name).casefold()


def _as_written_and_folded(name):
    # The database's UPPER folds case, not width: a name stored with full-width letters (万科Ａ) is
    # found as written, one stored with ordinary ones by a query typed full-width too.
    return [name, unicodedata.normalize("NFKC", name)]


def tags_named(names):
    """The Tags whose name is one of ``names``, case aside (as the database's UPPER folds it), or
    one of their forms folded by width (NFKC): a query."""
    names = list(dict.fromkeys(form for name in names if name for form in _as_written_and_folded(name)))
    if not names:
        return []
    return list(Tag.objects.filter(In(Upper("name"), [Upper(Value(name)) for name in names])).only("name", "slug"))


def names_in(query):
    """What ``query`` can name a tag by, in the query's order, as (name, terms): each of its words
    that makes a term (text.query_words), with (that term,); and each run of several consecutive
    words among its first MAX_QUERY_TERMS words (Federal Reserve in Federal Reserve 降息, or the
    whole query), joined by a space, with the terms its words make, once each (a run whose words
    make none is left out). From each word, the runs starting there come longest first, then the
    word alone. At most 45 runs: with the words, the names tags_named looks up in one query."""
    words = query_words(query)
    names = []
    for start, (word, term) in enumerate(words):
        for stop in range(min(len(words), MAX_QUERY_TERMS), start + 1, -1):
            terms = tuple(dict.fromkeys(term for _, term in words[start:stop] if term))
            if terms:
                names.append((" ".join(word for word, _ in words[start:stop]), terms))
        if term:
            names.append((word, (term,)))
    return names


def topics_named(query, tags):
    """(tags, stocks) that ``query`` names and that have a page (a public article is listed under
    them), for links: ``tags`` (tags_named's of names_in(``query``): each one's name is a word of
    the query or a run of them, case and width aside) in the order the query names them (names_in);
    the stocks (at most MOST_STOCKS_NAMED, by market and code) whose name is the whole query or
    one of its words, or whose code is such a word (AAPL, aapl, ＡＡＰＬ, AAPL.O, 600519, SH600519,
    600519.SH): 贵州茅台 业绩 links 贵州茅台's page. One query, and one more for each kind named."""
    order = {}
    for position, (name, _) in enumerate(names_in(query)):
        order.setdefault(folded(name), position)
    named_tags = sorted(tags, key=lambda tag: order.get(folded(tag.name), len(order)))
    words = (query or "").split()
    names = list(dict.fromkeys([" ".join(words), *words[:MAX_QUERY_TERMS]]))
    return _with_pages(Tag, named_tags), _with_pages(StockReference, list(_stocks_named(names)))


def _stocks_named(names):
    names = [name for name in names if name]
    if not names:
        return StockReference.objects.none()
    forms = dict.fromkeys(form for name in names for form in _as_written_and_folded(name))
    named = Q(In(Upper("name"), [Upper(Value(form)) for form in forms]))
    codes = {code for form in forms for code in (form, form.upper()) if is_url_code(form, MAX_STOCK_CODE_LENGTH)}
    if codes:
        named |= Q(code__in=codes)
    for written in filter(None, map(code_with_exchange, names)):
        code, exchange = written
        if exchange in _EXCHANGE_MARKETS:  # BJ names none of our markets
            named |= Q(code=code, market__in=_EXCHANGE_MARKETS[exchange])
    return StockReference.objects.filter(named).order_by("market", "code")[:MOST_STOCKS_NAMED]


def _with_pages(model, topics):
    """Those of ``topics`` (tags or stocks, of ``model``) that have a page: a query if there are any."""
    if not topics:
        return []
    with_pages = with_public_articles(model.objects.filter(pk__in=[topic.pk for topic in topics]))
    have_pages = set(with_pages.values_list("pk", flat=True))
    return [topic for topic in topics if topic.pk in have_pages]
