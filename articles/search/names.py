"""The tags and stocks a search query names: their articles match it (tags), and the results page
links their pages (美联储 -> 标签：美联储; 600519, 贵州茅台 or SH600519 -> 股票：贵州茅台 600519（上海）).

A name matches whole, case aside (Federal Reserve, federal reserve): each lookup is one query,
read from the index on the name's capitals (Tag and StockReference Meta.indexes), whatever the
number of tags, stocks and articles.
"""

from django.db.models import Q, Value
from django.db.models.functions import Upper
from django.db.models.lookups import Exact, In

from articles.models import StockReference, Tag, has_public_articles
from articles.validators import MAX_STOCK_CODE_LENGTH, is_url_code

from .text import code_with_exchange

# The most stocks a results page links: a name or a code shared by a few markets (中国平安 in
# Shanghai and Hong Kong) shows each; more would push the results down.
MOST_STOCKS_NAMED = 5


def tags_named(names):
    """The Tags whose name is one of ``names``, case aside (as the database's UPPER folds it), each
    with ``listed``: whether a public article carries it (its page exists)."""
    names = list(dict.fromkeys(name for name in names if name))
    if not names:
        return []
    capitals = In(Upper("name"), [Upper(Value(name)) for name in names])
    return list(Tag.objects.filter(capitals).only("name", "slug").annotate(listed=has_public_articles(Tag)))


def stocks_named(query):
    """The stocks (at most MOST_STOCKS_NAMED, by market and code) that ``query`` names as a whole by
    their name, case aside, or their code (AAPL, aapl, 600519, SH600519, 600519.SH), among those
    with a page (a public article mentions them)."""
    query = " ".join((query or "").split())
    if not query:
        return []
    named = Exact(Upper("name"), Upper(Value(query)))
    if is_url_code(query, MAX_STOCK_CODE_LENGTH):
        named |= Q(code__in={query, query.upper()})
    if written := code_with_exchange(query):
        code, exchange = written
        # The exchange as our markets name it (sh, sz, hk); BJ names none of them.
        named |= Q(code=code, market=exchange.lower())
    stocks = StockReference.objects.filter(named).filter(has_public_articles(StockReference))
    return list(stocks.order_by("market", "code")[:MOST_STOCKS_NAMED])
