"""Stand-in for djangoproject.com's banner tags (another app of that site): no banner."""

from django import template

register = template.Library()


@register.simple_tag
def active_banner():
    return ""
