import json

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# Escapes that keep a JSON document inside <script> from closing the element (as json_script does).
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag(takes_context=True)
def news_article_json_ld(context, article):
    """schema.org NewsArticle for search engines, as an inert JSON data block."""
    request = context["request"]
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title[:110],
        "datePublished": timezone.localtime(article.published_at).isoformat(),
        "dateModified": timezone.localtime(article.updated_at).isoformat(),
        "mainEntityOfPage": request.build_absolute_uri(article.get_absolute_url()),
        "articleSection": str(article.category),
        "publisher": {"@type": "Organization", "name": "金融消息"},
    }
    if article.summary:
        data["description"] = article.summary[:300]
    if article.source_name:
        data["author"] = {"@type": "Organization", "name": article.source_name}
    if article.cover_image:
        data["image"] = [request.build_absolute_uri(article.cover_image.url)]
    document = json.dumps(data, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES)
    # The document is JSON with <, > and & escaped, so it cannot end the element or inject markup.
    return format_html('<script type="application/ld+json">{}</script>', SafeString(document))
