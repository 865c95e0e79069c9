import dataclasses
import datetime as dt
import itertools

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView
from django.views.generic.dates import ArchiveIndexView, DayArchiveView, MonthArchiveView, YearArchiveView

from articles.caching import VERSION_FACTS_SECONDS, current_version, keys
from articles.caching.middleware import mark_paginated
from articles.models import Article, Category, StockReference, Tag, TaggedArticle, with_public_articles
from articles.months import months_between, next_month
from articles.operations.metrics import SEARCH_LATENCY
from articles.sanitize import plain_text
from articles.search import SearchResults
from articles.search.text import highlight, split_into_words
from articles.validators import is_publication_time

from .charts import hot_stocks, mentioned_with, news_flow
from .forms import EARLIEST_DATE, LATEST_DATE, SearchForm
from .pagination import ArticlePaginator

ARTICLES_PER_PAGE = 20
HOME_LATEST_COUNT = 20
HOME_PER_CATEGORY = 5
# The home page's per-category blocks are drawn from this many newest articles, so the page
# costs the same at a million articles as at a hundred.
HOME_WINDOW = 2000
HOME_SECTIONS = 10
HOME_KEY = "finews:home:{version}"
MONTHS_KEY = "finews:months:{version}"
ARTICLE_FACTS_KEY = "finews:article:{version}:{pk}"
RELATED_COUNT = 5
# A tag or stock in at most this many articles has its list read from its own articles (among_few).
FEW_MENTIONS = 5000
# Related articles are looked for among those published this close to the article: news is
# related to what happened around it, and the query then costs the same at any database size.
RELATED_WINDOW = dt.timedelta(days=3)


class PageRangeMixin:
    """Adds ``page_range``: page numbers around the current one, with ellipses, for includes/pagination.html."""

    def paginate_queryset(self, queryset, page_size):
        mark_paginated(self.request)
        return super().paginate_queryset(queryset, page_size)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if context.get("is_paginated"):
            page = context["page_obj"]
            context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
            other_parameters = self.request.GET.copy()
            other_parameters.pop("page", None)
            context["page_query"] = f"{other_parameters.urlencode()}&" if other_parameters else ""
        return context


class ArticleListView(PageRangeMixin, ListView):
    """A paginated list of public articles, newest first; subclasses narrow it with ``filter_articles``."""

    paginate_by = ARTICLES_PER_PAGE
    template_name = "articles/article_list.html"
    context_object_name = "articles"

    def get_queryset(self):
        return self.filter_articles(Article.objects.listed())

    def filter_articles(self, queryset):
        return queryset

    def get_paginator(self, queryset, per_page, **kwargs):
        return ArticlePaginator(queryset, per_page, list_key=self.request.path, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        keys.depends_on(*keys.listed(context["articles"]))
        return context


class HomeView(TemplateView):
    template_name = "articles/home.html"

    def get_context_data(self, **kwargs):
        # Read once per content version: the newest stories and the ranking of the sections.
        key = HOME_KEY.format(version=current_version())
        latest, sections = cache.get_or_set(key, self._latest_and_sections, VERSION_FACTS_SECONDS)
        hot_until, hot = hot_stocks()
        keys.depends_on(
            keys.SITE,
            keys.HOME,
            *keys.listed(latest),
            *keys.listed(article for _, items in sections for article in items),
        )
        keys.depends_on(*(keys.stock(stock.pk) for stock, _ in hot))
        return super().get_context_data(
            latest=latest,
            sections=sections,
            hot_until=hot_until,
            hot_stocks=hot,
            canonical="/",
            **kwargs,
        )

    def _latest_and_sections(self):
        latest = list(Article.objects.listed().stories()[:HOME_LATEST_COUNT])
        ranked = (
            Article.objects.listed()
            .filter(published_at__gte=self._window_start())
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=F("category_id"),
                    order_by=[F("published_at").desc(), F("id").desc()],
                )
            )
            .filter(rank__lte=HOME_PER_CATEGORY)
        )
        by_category = {}
        for article in ranked:
            by_category.setdefault(article.category, []).append(article)
        sections = sorted(by_category.items(), key=lambda item: item[1][0].published_at, reverse=True)[:HOME_SECTIONS]
        return latest, sections

    def _window_start(self):
        """The publication time of the HOME_WINDOW-th newest public article (a date range reads the index)."""
        oldest_in_window = (
            Article.objects.published()
            .order_by("-published_at", "-id")
            .values_list("published_at", flat=True)[HOME_WINDOW - 1 : HOME_WINDOW]
        )
        return next(iter(oldest_in_window), dt.datetime.min.replace(tzinfo=dt.UTC))


@dataclasses.dataclass(frozen=True)
class ArticleFacts:
    """What an article's page shows besides the article: read once per content version.

    ``tags``, ``stocks``: its own; ``copies``: its story's other copies (with their categories);
    ``previous``, ``following``: its neighbours in its category's list (or None); ``related``:
    RELATED_COUNT newest stories sharing a tag or stock, from the days around it.
    """

    tags: list
    stocks: list
    copies: list
    previous: Article | None
    following: Article | None
    related: list


class ArticleDetailView(DetailView):
    context_object_name = "article"

    def get_queryset(self):
        queryset = Article.objects.select_related("category", "responsible_editor")
        # Staff who may view articles in the admin may preview drafts and scheduled ones there;
        # readers only ever get published() ones.
        return queryset if self._previewing() else queryset.published()

    def _previewing(self):
        return bool(self.request.GET.get("preview")) and self.request.user.has_perm("articles.view_article")

    def get_object(self, queryset=None):
        return get_object_or_404(self.get_queryset(), info_code=self.kwargs["info_code"])

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        # A copy's address, and a wrong slug, lead to the story's page (get_absolute_url).
        if (self.object.story_id or self.kwargs.get("slug") != self.object.slug) and not self._previewing():
            return redirect(self.object, permanent=True)
        # No Last-Modified: the page also shows its neighbours and related news, which change
        # without the article; conditional requests are answered by the page's ETag (caching/).
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_context_data(self, **kwargs):
        article = self.object
        # Six queries built through the ORM were most of a cold page's time (issue 28); any change
        # to the content moves the version on, so the facts are never stale. The article itself
        # is read every time: its row is what a save changes first.
        key = ARTICLE_FACTS_KEY.format(version=current_version(), pk=article.pk)
        facts = cache.get_or_set(key, lambda: self._facts(article), VERSION_FACTS_SECONDS)
        neighbours = (facts.previous, facts.following)
        keys.depends_on(
            *keys.listed([article, *facts.copies, *filter(None, neighbours), *facts.related]),
            *(keys.tag(tag.pk) for tag in facts.tags),
            *(keys.stock(stock.pk) for stock in facts.stocks),
            *keys.related(
                article.published_at,
                [tag.pk for tag in facts.tags],
                [stock.pk for stock in facts.stocks],
                RELATED_WINDOW,
            ),
            *keys.neighbourhood(article.category_id, article.published_at, *neighbours),
        )
        return super().get_context_data(
            canonical=article.get_absolute_url(),
            tags=facts.tags,
            stocks=facts.stocks,
            is_preview=self._is_preview(article),
            also_in=[copy.category for copy in facts.copies],
            previous_article=facts.previous,
            next_article=facts.following,
            related=facts.related,
            **kwargs,
        )

    def _facts(self, article):
        tags, stocks = list(article.tags.all()), list(article.stocks.all())
        same_category = Article.objects.listed().filter(category_id=article.category_id)
        return ArticleFacts(
            tags=tags,
            stocks=stocks,
            # No order: the order by date would walk the date index past every article, not the few copies.
            copies=list(article.copies.listed().order_by()),
            previous=same_category.older_than(article.published_at, article.pk).first(),
            following=same_category.newer_than(article.published_at, article.pk).first(),
            related=self._related(article, tags, stocks),
        )

    def _is_preview(self, article):
        """True when staff are looking at an article that readers cannot see (yet)."""
        if not self._previewing():
            return False
        return not Article.objects.published().filter(pk=article.pk).exists()

    def _related(self, article, tags, stocks):
        """Newest public articles sharing a stock or a tag with this one, from the days around it (one query)."""
        if not tags and not stocks or not is_publication_time(article.published_at):
            # A time written around the write path (SQL) may sit where no window around it can be
            # computed (year 1): such an article has no "days around it".
            return []
        # Checked per article of the window (EXISTS), never by reading every article of a popular tag.
        shares_stock = Exists(
            Article.stocks.through.objects.filter(article_id=OuterRef("pk"), stockreference__in=stocks)
        )
        shares_tag = Exists(TaggedArticle.objects.filter(content_object_id=OuterRef("pk"), tag__in=tags))
        around = (article.published_at - RELATED_WINDOW, article.published_at + RELATED_WINDOW)
        nearby = Article.objects.listed().stories().filter(published_at__range=around)
        return list(nearby.filter(shares_stock | shares_tag).exclude(pk=article.pk)[:RELATED_COUNT])


def among_few(articles, mention_ids):
    """``articles`` (the public list) read from ``mention_ids`` (a tag's or stock's article ids) when
    those are FEW_MENTIONS or fewer.

    Newest first, articles are read down the date index and each checked for the tag or stock:
    quick for a common one, but for one in a few hundred of a million articles that reads back
    through nearly all of them. Those few are fetched by their ids and sorted instead.
    """
    ids = list(mention_ids[: FEW_MENTIONS + 1])
    return Article.objects.listed(among=ids) if len(ids) <= FEW_MENTIONS else articles


class CategoryIndexView(TemplateView):
    template_name = "articles/category_index.html"

    def get_context_data(self, **kwargs):
        counts = dict(Article.objects.published().order_by().values_list("category").annotate(Count("id")))
        categories = [category for category in Category.objects.all() if counts.get(category.pk)]
        for category in categories:
            category.article_count = counts[category.pk]
        categories.sort(key=lambda category: -category.article_count)
        keys.depends_on(keys.SITE, *(keys.category(category.pk) for category in categories))
        return super().get_context_data(categories=categories, canonical=reverse("articles:category-index"), **kwargs)


class CategoryView(ArticleListView):
    def filter_articles(self, queryset):
        self.category = get_object_or_404(with_public_articles(Category.objects.all()), slug=self.kwargs["slug"])
        return queryset.filter(category=self.category)

    def get_context_data(self, **kwargs):
        keys.depends_on(keys.category(self.category.pk), keys.category_list(self.category.pk))
        return super().get_context_data(
            heading=self.category.display_name,
            description=self.category.description,
            feed_url=f"{self.category.get_absolute_url()}feed/",
            canonical=self.category.get_absolute_url(),
            **kwargs,
        )


class TagView(ArticleListView):
    def filter_articles(self, queryset):
        self.tag = get_object_or_404(with_public_articles(Tag.objects.all()), slug=self.kwargs["slug"])
        mentions = TaggedArticle.objects.filter(tag=self.tag).values_list("content_object_id", flat=True)
        return among_few(queryset, mentions).once_per_story(tagged_items__tag=self.tag)

    def get_context_data(self, **kwargs):
        keys.depends_on(keys.tag(self.tag.pk), keys.tag_list(self.tag.pk))
        return super().get_context_data(
            flow=news_flow(self.object_list, "tag", self.tag.pk),
            heading=f"标签：{self.tag.name}",
            feed_url=f"{self.tag.get_absolute_url()}feed/",
            canonical=self.tag.get_absolute_url(),
            **kwargs,
        )


class StockView(ArticleListView):
    def filter_articles(self, queryset):
        self.stock = get_object_or_404(
            with_public_articles(StockReference.objects.all()), market=self.kwargs["market"], code=self.kwargs["code"]
        )
        mentions = Article.stocks.through.objects.filter(stockreference=self.stock).values_list("article_id", flat=True)
        return among_few(queryset, mentions).once_per_story(stocks=self.stock)

    def get_context_data(self, **kwargs):
        flow = news_flow(self.object_list, "stock", self.stock.pk)
        together = mentioned_with(self.stock, flow)
        keys.depends_on(
            keys.stock(self.stock.pk), keys.stock_list(self.stock.pk), *(keys.stock(stock.pk) for stock, _ in together)
        )
        return super().get_context_data(
            flow=flow,
            mentioned_with=together,
            heading=str(self.stock),
            stock=self.stock,
            feed_url=f"{self.stock.get_absolute_url()}feed/",
            canonical=self.stock.get_absolute_url(),
            **kwargs,
        )


class ArchiveMixin(PageRangeMixin):
    """Date archives of public articles; dates are Asia/Shanghai days (the site's time zone)."""

    date_field = "published_at"
    # published() already hides what is not yet public; Django's own "<= now" would be a second
    # upper bound on published_at, and SQLite might range the index on it instead of the period's.
    allow_future = True
    paginate_by = ARTICLES_PER_PAGE
    allow_empty = False
    context_object_name = "articles"
    month_format = "%m"

    # The list order ArticlePaginator's anchors need: ties on the date broken by id.
    ordering = ("-published_at", "-id")

    def get_queryset(self):
        return Article.objects.listed().stories()

    def get_paginator(self, queryset, per_page, **kwargs):
        # Counted, and deep pages anchored, once per content version, as the category pages are.
        return ArticlePaginator(queryset, per_page, list_key=self.request.path, **kwargs)

    def get(self, request, *args, **kwargs):
        # Django looks up a day's articles up to the next day, which 9999-12-31 does not have.
        if "year" in kwargs and not EARLIEST_DATE.year <= kwargs["year"] <= LATEST_DATE.year:
            raise Http404("没有这一年的消息。")
        period = [kwargs[part] for part in ("year", "month", "day") if part in kwargs]
        keys.depends_on(keys.archive(*period) if period else keys.SITE)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        keys.depends_on(*keys.listed(context.get("articles") or ()), *self._between_neighbours(context))
        return context

    def _between_neighbours(self, context):
        """The links to the previous and next period with news change when news comes to a period
        between: the keys of those periods (SITE past the newest period, or over a long gap)."""
        for unit in PERIODS:
            if f"next_{unit}" not in context:
                continue
            current = context[unit]
            previous, following = context.get(f"previous_{unit}"), context.get(f"next_{unit}")
            if previous is None or following is None:
                return [keys.SITE]
            before, after = _periods(previous, current, unit), _periods(current, following, unit)
            return [keys.SITE] if before is None or after is None else before + after
        return []


# For each archive period: the period after a date's, and what names it.
PERIODS = {
    "day": (lambda date: date + dt.timedelta(days=1), lambda date: (date.year, date.month, date.day)),
    "month": (next_month, lambda date: (date.year, date.month)),
    "year": (lambda date: date.replace(year=date.year + 1, month=1, day=1), lambda date: (date.year,)),
}
MOST_PERIODS_NAMED = 100


def _periods(start, end, unit):
    """The archive keys of the periods strictly between the dates ``start`` and ``end``, or None
    when there are more than MOST_PERIODS_NAMED."""
    following, parts = PERIODS[unit]
    periods, moment = [], following(start)
    while moment < end:
        if len(periods) == MOST_PERIODS_NAMED:
            return None
        periods.append(keys.archive(*parts(moment)))
        moment = following(moment)
    return periods


class ArchiveIndex(ArchiveMixin, ArchiveIndexView):
    template_name = "articles/archive_index.html"
    date_list_period = "month"
    allow_empty = True

    def get_date_list(self, queryset, date_type=None, ordering="DESC"):
        # Django's list is a DISTINCT over every article (70 ms of the page at 10,000 articles).
        key = MONTHS_KEY.format(version=current_version())
        return cache.get_or_set(key, lambda: months_with_news(queryset), VERSION_FACTS_SECONDS)


def months_with_news(articles):
    """The months in which ``articles`` has any, newest first: a list of aware datetimes, each the
    first moment of its month in the site's time zone (as Django's date_list gives them).

    The first and the last article are found by the date index, then each month between is
    probed for one article (an index seek): the cost follows the archive's span in months, never
    its number of articles.
    """
    dates = articles.order_by().values_list("published_at", flat=True)
    first, last = dates.order_by("published_at").first(), dates.order_by("-published_at").first()
    if first is None:
        return []
    months = months_between(timezone.localdate(first), next_month(timezone.localdate(last)))
    edges = [
        timezone.make_aware(dt.datetime(month.year, month.month, 1)) for month in [*months, next_month(months[-1])]
    ]
    periods = reversed(list(itertools.pairwise(edges)))
    return [start for start, end in periods if dates.filter(published_at__gte=start, published_at__lt=end).exists()]


class YearArchive(ArchiveMixin, YearArchiveView):
    template_name = "articles/archive_list.html"
    make_object_list = True

    def get_date_list(self, queryset, date_type=None, ordering="ASC"):
        # The page shows no list of its months, and Django's is a DISTINCT over the year's articles.
        # An empty year is still a 404: its first page does not exist (allow_empty is False).
        return []


class MonthArchive(ArchiveMixin, MonthArchiveView):
    template_name = "articles/archive_list.html"

    def get_date_list(self, queryset, date_type=None, ordering="ASC"):
        # As YearArchive's: not shown, and a DISTINCT over the month's articles.
        return []


class DayArchive(ArchiveMixin, DayArchiveView):
    template_name = "articles/archive_list.html"

    # A day page links to the neighbouring days only: each neighbour costs a query.
    def get_next_month(self, date):
        return None

    def get_previous_month(self, date):
        return None


class SearchView(PageRangeMixin, ListView):
    """Full-text search of public articles, ranked: title matches first, then the rest; newest first in each."""

    template_name = "articles/search.html"
    context_object_name = "results"
    paginate_by = ARTICLES_PER_PAGE

    def get(self, request, *args, **kwargs):
        # The search itself (counts and the page's results); the template renders after.
        with SEARCH_LATENCY.time():
            return super().get(request, *args, **kwargs)

    def get_queryset(self):
        self.form = SearchForm(self.request.GET or None)
        if not self.form.is_valid() or not self.form.cleaned_data["q"].strip():
            return []
        self.query = self.form.cleaned_data["q"]
        after, before = self.form.published_range()
        # Each story once; a search within a category finds the category's own copy of a story.
        public = Article.objects.published()
        candidates = self.form.filter(public if self.form.cleaned_data.get("category") else public.stories())
        results = SearchResults(self.query, candidates, published_after=after, published_before=before)
        # Not found as written (央行降准): suggest its words (央行 降准) where they find something.
        self.suggestion = split_into_words(self.query) if not results.count() else None
        if self.suggestion:
            split = SearchResults(self.suggestion, candidates, published_after=after, published_before=before)
            if not split.count():
                self.suggestion = None
        return results

    def get_context_data(self, **kwargs):
        context = super().get_context_data(form=self.form, **kwargs)
        results = context["results"]
        if isinstance(self.object_list, SearchResults):
            terms = self.object_list.terms
            for article in results:
                article.title_highlighted = highlight(article.title, terms, width=300)
                article.snippet = highlight(article.summary or plain_text(article.body_start), terms)
            keys.depends_on(keys.SITE, *keys.listed(results))
            context.update(
                query=self.query,
                suggestion=self.suggestion,
                suggestion_query=self._with_query(self.suggestion) if self.suggestion else None,
                searched=True,
                result_count=context["paginator"].count,
                truncated=self.object_list.truncated,
            )
        return context

    def _with_query(self, query):
        """This search's parameters (filters included) with ``query`` instead, from page 1."""
        parameters = self.request.GET.copy()
        parameters["q"] = query
        parameters.pop("page", None)
        return parameters.urlencode()


class RobotsView(TemplateView):
    template_name = "robots.txt"
    content_type = "text/plain; charset=utf-8"


def old_post_redirect(request, category, year, month, day, name):
    """The old Jekyll URL of a post, /<category>/<YYYY>/<MM>/<DD>/<info code>.html, where
    <category> is one folder per word of the post's category line."""
    article = get_object_or_404(Article.objects.published().only("info_code", "slug", "story"), info_code=name)
    return redirect(article, permanent=True)


def old_category_redirect(request, name):
    """The old Jekyll category page (/category/<name>.html) and folder (/<name>/)."""
    category = Category.objects.filter(name=name).only("slug").first()
    if category is None:
        raise Http404("没有这个分类")
    return redirect(category, permanent=True)
