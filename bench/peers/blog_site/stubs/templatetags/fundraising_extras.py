"""Stand-in for djangoproject.com's fundraising tags (another app of that site): no sidebar."""

from django import template

register = template.Library()


@register.simple_tag
def donation_snippet():
    return ""


@register.simple_tag
def top_corporate_members(*levels, header=""):
    return ""
