"""Names for stored stocks that have none: the name their articles write beside their code.

The import names a stock as posts arrive (stocks.extract_stocks); ``manage.py name_stocks`` does the
same once for the stocks stored before it did.
"""

from articles import publishing
from articles.models import Article, StockReference
from articles.sanitize import plain_text

from .stocks import StockMention, names_beside_codes

# The newest articles of a nameless stock read for its name.
ARTICLES_READ = 20


def name_stored_stocks():
    """Give each stock without a name the first name its newest ARTICLES_READ articles write beside
    its code; returns [(stock, name)] of those named (through publishing.stock_references)."""
    named = []
    for stock in StockReference.objects.filter(name=""):
        bodies = Article.objects.filter(stocks=stock).order_by("-published_at").values_list("body", flat=True)
        for body in bodies[:ARTICLES_READ]:
            written = names_beside_codes(plain_text(body))
            name = written.get((stock.market, stock.code)) or written.get((None, stock.code))
            if name:
                publishing.stock_references([StockMention(code=stock.code, market=stock.market, name=name)])
                named.append((stock, name))
                break
    return named
