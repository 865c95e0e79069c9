"""URL parameters restricted to what they can contain, so odd URLs are a 404 before any query.

The code converters accept exactly what the model's validators accept (validators.py), so every
stored code has a URL.
"""

from articles.models import Market
from articles.validators import INFO_CODE_REGEX, STOCK_CODE_REGEX


class InfoCodeConverter:
    regex = INFO_CODE_REGEX

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class MarketConverter(InfoCodeConverter):
    regex = "|".join(Market.values)


class StockCodeConverter(InfoCodeConverter):
    regex = STOCK_CODE_REGEX


class OldCategoryNameConverter(InfoCodeConverter):
    """The old site's category names: anything but a slash or a control character (spaces included)."""

    regex = r"[^/\x00-\x1f\x7f]{1,200}"
