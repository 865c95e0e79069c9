"""A news page and a news index, as a Wagtail developer writes them (the bakerydemo's blog app's shape)."""

from django.core.paginator import Paginator
from django.db import models
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail.fields import RichTextField
from wagtail.models import Page


class NewsPageTag(TaggedItemBase):
    content_object = ParentalKey("NewsPage", related_name="tagged_items", on_delete=models.CASCADE)


class NewsPage(Page):
    date = models.DateTimeField("发布时间", db_index=True)
    summary = models.TextField(blank=True)
    body = RichTextField(blank=True)
    source_name = models.CharField(max_length=100, blank=True)
    tags = ClusterTaggableManager(through=NewsPageTag, blank=True)

    parent_page_types = ["news.NewsIndexPage"]


class NewsIndexPage(Page):
    """The news below it (its categories' too), newest first, 20 a page."""

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        news = NewsPage.objects.live().descendant_of(self).order_by("-date")
        context["news"] = Paginator(news, 20).get_page(request.GET.get("page"))
        return context
