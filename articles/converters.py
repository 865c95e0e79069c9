"""URL parameters restricted to what they can contain, so odd URLs are a 404 before any query."""

from .importing.frontmatter import MAX_INFO_CODE_LENGTH
from .models import Market


class InfoCodeConverter:
    regex = rf"[\w.-]{{1,{MAX_INFO_CODE_LENGTH}}}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class MarketConverter(InfoCodeConverter):
    regex = "|".join(Market.values)


class StockCodeConverter(InfoCodeConverter):
    regex = r"[A-Za-z0-9._]{1,20}"


class OldCategoryNameConverter(InfoCodeConverter):
    """The old site's category names: anything but a slash or a control character (spaces included)."""

    regex = r"[^/\x00-\x1f\x7f]{1,200}"
