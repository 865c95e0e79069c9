import dataclasses
import datetime as dt
import io
import itertools
import math

import segno
from django.core.cache import cache
from django.db.models import Count, Exists, F, Max, OuterRef, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView
from django.views.generic.dates import ArchiveIndexView, DayArchiveView, MonthArchiveView, YearArchiveView

from articles import validators
from articles.caching import VERSION_FACTS_SECONDS, current_version, keys, version_facts
from articles.caching.middleware import PAGE_NUMBER_PARAMETERS, NoSuchPage, clean_query, mark_paginated
from articles.models import (
    LIST_DEFERRED,
    Article,
    Category,
    StockReference,
    Tag,
    TaggedArticle,
    with_public_articles,
)
from articles.months import months_between, next_month
from articles.operations.metrics import SEARCH_LATENCY
from articles.publishing import MOST_TOP_STORIES
from articles.sanitize import plain_text
from articles.search import SearchResults
from articles.search.names import topics_named
from articles.search.text import highlight, split_into_words
from articles.validators import is_publication_time

from . import times
from .aside import aside
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
HOME_KEY = "finews:home:{version}:lists"
HIGHEST_KEY = "finews:highest:{version}"
MONTHS_KEY = "finews:months:{version}:{year}"
DAYS_KEY = "finews:days:{version}:{year}-{month}"
ARTICLE_FACTS_KEY = "finews:article:{version}:{pk}"
ARTICLE_KEY = "finews:article:{version}:code:{info_code}"
RELATED_COUNT = 5
# A tag in at most isqrt(SPARSE_TAG × all articles) of them (the highest key standing for "all") has
# its list read from its own articles (among_few); a stock's list is read from its StockListing rows
# (ArticleQuerySet.under_stock).
SPARSE_TAG = 6
# Related articles are looked for among those published this close to the article: news is
# related to what happened around it, and the query then costs the same at any database size.
RELATED_WINDOW = dt.timedelta(days=3)


class PageRangeMixin:
    """Adds ``page_range``: page numbers around the current one, with ellipses, for includes/pagination.html.

    Every list answers a page number the same way: a page it has, 200; page 1, or a number written
    with leading zeros, a 301 to the one address of that page (PublicPageCacheMiddleware); anything
    else (abc, 0, -1, 1.5, Django's "last", a page past the end) a 404 that links to the list's
    first page (page_not_found). A 404 rather than a redirect to page 1: an edited address learns
    it leads nowhere, and a crawler does not keep a dead page's address as a copy of the first.
    """

    def paginate_queryset(self, queryset, page_size):
        mark_paginated(self.request)
        # The page cache's rule, also where the cache is skipped (an editor's session, search).
        clean_query(self.request.GET)
        try:
            return super().paginate_queryset(queryset, page_size)
        except Http404:
            raise NoSuchPage(f"没有第 {self.request.GET.get(self.page_kwarg)} 页。") from None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if context.get("is_paginated"):
            page = context["page_obj"]
            context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
            other_parameters = self.request.GET.copy()
            other_parameters.pop("page", None)
            context["page_query"] = f"{other_parameters.urlencode()}&" if other_parameters else ""
            # Page 1's one address has no page number (?page=1 is a redirect to it).
            context["first_page"] = f"{self.request.path}?{other_parameters.urlencode()}".rstrip("?")
            if page.number > 1 and context.get("canonical"):
                # Each page is its own: a later page named as a copy of the first drops out of the index.
                context["canonical"] = f"{context['canonical']}?page={page.number}"
        return context


class ArticleListView(PageRangeMixin, ListView):
    """A paginated list of public articles, newest first; subclasses narrow it with ``filter_articles``."""

    paginate_by = ARTICLES_PER_PAGE
    template_name = "articles/article_list.html"
    context_object_name = "articles"
    # The fields the list is ordered by (ArticlePaginator's ``order``).
    list_order = ("published_at", "pk")

    def get_queryset(self):
        return self.filter_articles(Article.objects.listed())

    def filter_articles(self, queryset):
        return queryset

    def get_paginator(self, queryset, per_page, **kwargs):
        return ArticlePaginator(queryset, per_page, list_key=self.request.path, order=self.list_order, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        keys.depends_on(*keys.listed(context["articles"]))
        return context


class HomeView(TemplateView):
    template_name = "articles/home.html"

    def get_context_data(self, **kwargs):
        # Read once per content version: the newest stories and the ranking of the sections.
        key = HOME_KEY.format(version=current_version())
        pinned, latest, sections = version_facts(key, self._home_lists)
        hot_until, hot = hot_stocks()
        keys.depends_on(
            keys.SITE,
            keys.HOME,
            *keys.listed(pinned),
            *keys.listed(latest),
            *keys.listed(article for _, items in sections for article in items),
        )
        keys.depends_on(*(keys.stock(stock.pk) for stock, _ in hot))
        lead = pinned[0] if pinned and pinned[0].pin == Article.Pin.LEAD else None
        return super().get_context_data(
            lead=lead,
            top_stories=pinned[1:] if lead else pinned,
            latest=latest,
            sections=sections,
            hot_until=hot_until,
            hot_stocks=hot,
            live_url=live_url(_newest_story(pinned + latest), highest_key()),
            canonical="/",
            **kwargs,
        )

    def _home_lists(self):
        """(pinned, latest, sections): the desk's 头条 and 要闻 (Article.objects.pinned()), the
        newest stories but those, and the newest of the busiest categories."""
        pinned = list(
            Article.objects.pinned().select_related("category", "story").defer(*LIST_DEFERRED)[: MOST_TOP_STORIES + 1]
        )
        newest = list(Article.objects.listed().stories()[: HOME_LATEST_COUNT + len(pinned)])
        latest = [article for article in newest if article not in pinned][:HOME_LATEST_COUNT]
        return pinned, latest, self._sections()

    def _sections(self):
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
        return sorted(by_category.items(), key=lambda item: item[1][0].published_at, reverse=True)[:HOME_SECTIONS]

    def _window_start(self):
        """The publication time of the HOME_WINDOW-th newest public article (a date range reads the index)."""
        oldest_in_window = (
            Article.objects.published()
            .order_by("-published_at", "-id")
            .values_list("published_at", flat=True)[HOME_WINDOW - 1 : HOME_WINDOW]
        )
        return next(iter(oldest_in_window), dt.datetime.min.replace(tzinfo=dt.UTC))


def highest_key():
    """The key of the last article written (0: none): every story up to it the page knows of
    (live_url), and the count of all articles a tag's list is measured against (among_few). Read
    once per content version, for the home, 7×24 and tag pages and feeds alike."""
    return version_facts(
        HIGHEST_KEY.format(version=current_version()),
        lambda: Article.objects.aggregate(highest=Max("id"))["highest"] or 0,
    )


def live_url(after, seen):
    """The fragment of the stories new to a page whose newest story is ``after`` (a pk; 0: none)
    and that knows every story up to the key ``seen`` (LiveFragmentView)."""
    return reverse("articles:live-new", kwargs={"after": after, "seen": seen})


def _newest_story(articles):
    """The pk of the newest story among ``articles`` (0: none), where new items start (live.js)."""
    stories = [article for article in articles if article.story_id is None]
    return max(stories, key=lambda article: (article.published_at, article.pk)).pk if stories else 0


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
        """The article of the address's info_code: for readers, read once per content version (as
        the page cache keeps its page; a save moves the version on); previews always afresh.

        Raises Http404 when there is none readers may see (never kept: a miss costs a query)."""
        info_code = self.kwargs["info_code"]
        if self._previewing():
            return get_object_or_404(self.get_queryset(), info_code=info_code)
        return version_facts(
            ARTICLE_KEY.format(version=current_version(), info_code=info_code),
            lambda: get_object_or_404(self.get_queryset(), info_code=info_code),
        )

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        # A copy's address, and a wrong slug, lead to the story's page (get_absolute_url).
        if (self.object.lead or self.kwargs.get("slug") != self.object.slug) and not self._previewing():
            return redirect(self.object, permanent=True)
        # No Last-Modified: the page also shows its neighbours and related news, which change
        # without the article; conditional requests are answered by the page's ETag (caching/).
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_context_data(self, **kwargs):
        article = self.object
        # Six queries built through the ORM were most of a cold page's time (issue 28); any change
        # to the content moves the version on, so the facts are never stale.
        key = ARTICLE_FACTS_KEY.format(version=current_version(), pk=article.pk)
        facts = version_facts(key, lambda: self._facts(article))
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
        side = aside(article, facts.stocks)
        return super().get_context_data(
            canonical=article.get_absolute_url(),
            tags=facts.tags,
            stocks=[(stock, side.flows.get(stock.pk)) for stock in facts.stocks],
            aside=side,
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


def among_few(articles, mentions):
    """``articles`` (the public list, newest first), or, for a sparse tag, the public articles
    among ``mentions`` (a query set of the tag's article ids) read by their keys and sorted.

    Down the date index, a page reads about page size × all articles ÷ the tag's articles, each
    checked for the tag: quick for a common tag, but for one in a few hundred of a million articles
    it reads back through nearly all of them. Read by their keys, the tag's own are fetched and
    sorted, which costs their number. The keys win while that number is below about
    sqrt(SPARSE_TAG × all articles), the key of the last article standing for "all". Measured on
    the benchmark's posts (CPU ms of page 1, down the index against by the keys): at 10,000
    articles 10.9 against 33.3 for a tag of 4,127, 11.3 against 12.6 for 306, 12.0 against 11.9
    for 112; at 100,000, 11.3 against 15.4 for 845, 15.5 against 11.7 for 374.
    """
    sparse_below = math.isqrt(SPARSE_TAG * highest_key())
    if mentions[sparse_below : sparse_below + 1].exists():
        return articles
    return Article.objects.listed(among=mentions)


def tagged(articles, tag):
    """The articles of ``tag`` among ``articles`` (the public list, newest first), each story once,
    read down the date index or by their keys as among_few chooses: its page and its feed alike."""
    mentions = TaggedArticle.objects.filter(tag=tag).values_list("content_object_id", flat=True)
    return among_few(articles, mentions).once_per_story(tagged_items__tag=tag)


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
        return tagged(queryset, self.tag)

    def get_context_data(self, **kwargs):
        keys.depends_on(keys.tag(self.tag.pk), keys.tag_list(self.tag.pk))
        context = super().get_context_data(
            heading=f"标签：{self.tag.name}",
            feed_url=f"{self.tag.get_absolute_url()}feed/",
            canonical=self.tag.get_absolute_url(),
            **kwargs,
        )
        context["flow"] = first_page_flow(context, self.object_list, "tag", self.tag.pk)
        return context


def first_page_flow(context, articles, kind, pk):
    """The news flow of a list's first page (None on the others), spanning the days it lists."""
    if context["page_obj"] and context["page_obj"].number > 1:
        return None
    return news_flow(articles, f"{kind}-list", pk, listed=list(context["articles"]))


class StockView(ArticleListView):
    list_order = ("listed_at", "listed_id")

    def filter_articles(self, queryset):
        self.stock = get_object_or_404(
            with_public_articles(StockReference.objects.all()), market=self.kwargs["market"], code=self.kwargs["code"]
        )
        return queryset.under_stock(self.stock)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(
            heading=str(self.stock),
            stock=self.stock,
            feed_url=f"{self.stock.get_absolute_url()}feed/",
            canonical=self.stock.get_absolute_url(),
            **kwargs,
        )
        context["flow"] = flow = first_page_flow(context, self.object_list, "stock", self.stock.pk)
        context["mentioned_with"] = together = mentioned_with(self.stock, flow)
        keys.depends_on(
            keys.stock(self.stock.pk), keys.stock_list(self.stock.pk), *(keys.stock(stock.pk) for stock, _ in together)
        )
        return context


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
        try:  # before the redirect below: /archive/2026/02/30/ is no day, not an address of one
            dt.date(kwargs.get("year", 2000), kwargs.get("month", 1), kwargs.get("day", 1))
        except (ValueError, OverflowError):  # OverflowError: a month or day past a C long
            raise Http404("没有这一天。") from None
        # One address per period: /archive/2022/05/ (or 2022/5/07/) is /archive/2022/5/.
        self.canonical = reverse(request.resolver_match.view_name, kwargs=kwargs)
        if request.path != self.canonical:
            return HttpResponsePermanentRedirect(self.canonical)
        period = [kwargs[part] for part in ("year", "month", "day") if part in kwargs]
        keys.depends_on(keys.archive(*period) if period else keys.SITE)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(canonical=self.canonical, **kwargs)
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
        return kept_months(queryset)

    def get_context_data(self, **kwargs):
        # The years, and the months of the newest: every month of a long archive (69 at a million
        # articles) was most of the page, and grew with it. A year's page lists its own months.
        context = super().get_context_data(**kwargs)
        months = context["date_list"]
        context["years"] = list(dict.fromkeys(month.year for month in months))
        context["months"] = [month for month in months if months and month.year == months[0].year]
        return context


def kept_months(stories, year=None):
    """months_with_news(stories) (the public stories), or of those of ``year`` only (an int), kept
    per content version."""
    # Django's list is a DISTINCT over every article (70 ms of the page at 10,000 articles).
    key = MONTHS_KEY.format(version=current_version(), year=year or "")
    if year is not None:
        start, end = (timezone.make_aware(dt.datetime(number, 1, 1)) for number in (year, year + 1))
        stories = stories.filter(published_at__gte=start, published_at__lt=end)
    return cache.get_or_set(key, lambda: months_with_news(stories), VERSION_FACTS_SECONDS)


def months_with_news(articles):
    """The months in which ``articles`` has any, newest first: a list of aware datetimes, each the
    first moment of its month in the site's time zone (as Django's date_list gives them).

    The first and the last article are found by the date index, then each month between is
    probed for one article (an index seek): the cost follows the archive's span in months, never
    its number of articles.
    """
    # A time stored around the write path outside the range it allows (SQL) names no month: its
    # months could not be counted, nor even written (year 1, year 9999).
    dates = (
        articles.order_by()
        .filter(published_at__range=(validators.EARLIEST_PUBLICATION, validators.LATEST_PUBLICATION))
        .values_list("published_at", flat=True)
    )
    first, last = dates.order_by("published_at").first(), dates.order_by("-published_at").first()
    if first is None:
        return []
    months = months_between(timezone.localdate(first), next_month(timezone.localdate(last)))
    edges = [
        timezone.make_aware(dt.datetime(month.year, month.month, 1)) for month in [*months, next_month(months[-1])]
    ]
    return _periods_with_news(dates, edges)


def kept_days(stories, month):
    """days_with_news(stories, month) kept per content version, as a year's months are."""
    key = DAYS_KEY.format(version=current_version(), year=month.year, month=month.month)
    return cache.get_or_set(key, lambda: days_with_news(stories, month), VERSION_FACTS_SECONDS)


def days_with_news(articles, month):
    """The days of ``month`` (a date, its first day) on which ``articles`` has any, newest first:
    a list of dates (Asia/Shanghai days).

    As months_with_news, within the month's range: its first and last article by the date index,
    then one probe for each day between (31 at most), whatever the number of articles.
    """
    start, end = (timezone.make_aware(dt.datetime(day.year, day.month, 1)) for day in (month, next_month(month)))
    dates = (
        articles.order_by().filter(published_at__gte=start, published_at__lt=end).values_list("published_at", flat=True)
    )
    first, last = dates.order_by("published_at").first(), dates.order_by("-published_at").first()
    if first is None:
        return []
    first, last = timezone.localdate(first), timezone.localdate(last)
    days = [first + dt.timedelta(days=number) for number in range((last - first).days + 2)]
    edges = [timezone.make_aware(dt.datetime(day.year, day.month, day.day)) for day in days]
    return [start.date() for start in _periods_with_news(dates, edges)]


def _periods_with_news(dates, edges):
    """The starts of the periods between consecutive ``edges`` (aware datetimes, oldest first) in
    which ``dates`` (a query set of publication times) has any, newest first: a probe each."""
    periods = reversed(list(itertools.pairwise(edges)))
    return [start for start, end in periods if dates.filter(published_at__gte=start, published_at__lt=end).exists()]


class YearArchive(ArchiveMixin, YearArchiveView):
    template_name = "articles/archive_list.html"
    make_object_list = True

    def get_date_list(self, queryset, date_type=None, ordering="ASC"):
        # Its months with news, newest first, probed within the year (twelve at most). An empty
        # year is still a 404: its first page does not exist (allow_empty is False).
        return kept_months(self.get_queryset(), year=int(self.get_year()))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["months"] = context["date_list"]
        return context


class MonthArchive(ArchiveMixin, MonthArchiveView):
    template_name = "articles/archive_list.html"

    def get_date_list(self, queryset, date_type=None, ordering="ASC"):
        # Not Django's DISTINCT over the month's articles: days_with_news probes each day.
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Its days with news, as a year's page lists its months.
        context["days_with_news"] = kept_days(self.get_queryset(), context["month"])
        return context


class DayArchive(ArchiveMixin, DayArchiveView):
    template_name = "articles/archive_list.html"

    # A day page links to the neighbouring days only: each neighbour costs a query.
    def get_next_month(self, date):
        return None

    def get_previous_month(self, date):
        return None


# The search form's fields that narrow a search (SearchForm), folded under its words.
SEARCH_FILTERS = ("category", "stock", "start", "end")


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
        # The filters stay unfolded when the reader chose one, or one is wrong.
        filters_open = any(self.form[name].value() or self.form[name].errors for name in SEARCH_FILTERS)
        # Filters chosen and no word: the page came back as it was, saying nothing.
        filters_without_words = filters_open and self.form.is_valid() and not self.form.cleaned_data["q"].strip()
        context = super().get_context_data(
            form=self.form, filters_open=filters_open, filters_without_words=filters_without_words, **kwargs
        )
        results = context["results"]
        if isinstance(self.object_list, SearchResults):
            terms = self.object_list.terms
            for article in results:
                article.title_highlighted = highlight(article.title, terms, width=300)
                article.snippet = highlight(article.summary or plain_text(article.body_start), terms)
            # The tag and the stocks the query names, linked above the results (their pages).
            named_tags, named_stocks = topics_named(self.query, self.object_list.tags)
            keys.depends_on(keys.SITE, *keys.listed(results))
            keys.depends_on(
                *(keys.tag(tag.pk) for tag in named_tags), *(keys.stock(stock.pk) for stock in named_stocks)
            )
            context.update(
                named_tags=named_tags,
                named_stocks=named_stocks,
                query=self.query,
                searchable=bool(terms),
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


def page_not_found(request, exception):
    """Django's 404 page (404.html); a list asked for a page it does not have (NoSuchPage) links
    to its first page too."""
    first_page = None
    if isinstance(exception, NoSuchPage):
        other_parameters = request.GET.copy()  # a search's words and filters stay
        for name in PAGE_NUMBER_PARAMETERS:
            other_parameters.pop(name, None)
        first_page = f"{request.path}?{other_parameters.urlencode()}".rstrip("?")
    return render(request, "404.html", {"first_page": first_page}, status=404)


class RobotsView(TemplateView):
    template_name = "robots.txt"
    content_type = "text/plain; charset=utf-8"


def article_qr_code(request, info_code):
    """The QR code of a public article's address, an SVG image drawn by segno: a WeChat user scans
    it to open the article, and no third-party service sees the reader.

    Drawn apart from the article page, which links it as an image: segno's choice of mask took
    45 ms, three quarters of a cold article render, and browsers ask for it only when a reader
    opens 微信扫码分享. A copy's code is of its story's address, the page readers get.
    """
    article = get_object_or_404(Article.objects.published().only("info_code", "slug", "story"), info_code=info_code)
    keys.depends_on(*keys.listed([article]))
    address = request.build_absolute_uri(article.get_absolute_url())
    code, drawing = segno.make(address, error="m", micro=False), io.BytesIO()
    code.save(drawing, kind="svg", scale=4, border=2, svgclass="qr-code", lineclass=None, title=f"二维码：{address}")
    return HttpResponse(drawing.getvalue(), content_type="image/svg+xml")


def old_post_redirect(request, category, year, month, day, name):
    """The old Jekyll URL of a post, /<category>/<YYYY>/<MM>/<DD>/<info code>.html (or without
    .html, as GitHub Pages also answered), where <category> is one folder per word of the post's
    category line."""
    article = get_object_or_404(Article.objects.published().only("info_code", "slug", "story"), info_code=name)
    return redirect(article, permanent=True)


def old_category_redirect(request, name):
    """The old Jekyll category page (/category/<name>.html) and folder (/<name>/)."""
    category = Category.objects.filter(name=name).only("slug").first()
    if category is None:
        raise Http404("没有这个分类")
    return redirect(category, permanent=True)


LIVE_PER_PAGE = 50
# The most new items one answer of the fragment carries: more, and the reader is told to reload.
LIVE_NEW_MOST = 50


class LiveView(ArticleListView):
    """7×24 快讯: every story as a timeline, newest first, grouped by Beijing day (今天, 昨天, dates)."""

    paginate_by = LIVE_PER_PAGE
    template_name = "articles/live.html"

    def filter_articles(self, queryset):
        return queryset.stories()

    def get_context_data(self, **kwargs):
        keys.depends_on(keys.SITE)
        context = super().get_context_data(canonical=reverse("articles:live"), heading="7×24 快讯", **kwargs)
        articles = list(context["articles"])
        context["days"] = timeline(articles)
        # The newest shown: where the fragment starts (only the first page follows new items).
        if context["page_obj"].number == 1:
            context["live_url"] = live_url(articles[0].pk if articles else 0, highest_key())
        return context


def timeline(articles):
    """[(day label, day, [(time HH:MM, article)])] of ``articles`` (newest first), grouped by
    Beijing day; names keys.TODAY when a heading reads 今天 or 昨天."""
    today = timezone.localdate()
    times.note_relative((article.published_at for article in articles), today)
    days = []
    for article in articles:
        day = timezone.localdate(article.published_at)
        if not days or days[-1][1] != day:
            days.append((times.day_label(day, today), day, []))
        days[-1][2].append((f"{timezone.localtime(article.published_at):%H:%M}", article))
    return days


class LiveFragmentView(TemplateView):
    """The stories new to a page showing the story ``after`` (a pk; 0: none shown yet) as its
    newest and knowing every story up to the key ``seen`` (without it: ``after``), newest first, as
    timeline items: what the 7×24 page adds and the home page counts (static/js/live.js). New:
    newer than ``after`` (a scheduled story coming due), or written after ``seen`` (a story the
    scraper posts late, dated before ``after``: live.js puts it in its place in time).

    A page like any other: kept by Varnish and the page cache, purged by ``site`` with every public
    change, so a thousand open tabs asking every few seconds cost cache hits, not renders. The
    newest item becomes the next ``after``, the highest key the next ``seen``; a story no longer
    public has no time: then only those written after ``seen`` (and ``after``) are new.
    """

    template_name = "articles/live_new.html"

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        # A part of a page, not a page: search engines index the 7×24 page instead.
        response.headers["X-Robots-Tag"] = "noindex"
        return response

    def get_context_data(self, **kwargs):
        keys.depends_on(keys.SITE)
        stories = Article.objects.listed().stories()
        after = self.kwargs["after"]
        seen = max(self.kwargs.get("seen", after), after)
        if after == 0:
            # The timeline was empty: its first items.
            newer, more, newest = list(stories[:LIVE_NEW_MOST]), False, None
        else:
            newest = stories.filter(pk=after).values_list("published_at", "pk").first()
            # In the order written: with more than LIVE_NEW_MOST, the next answer goes on from the
            # last (every key up to it delivered), the rest being written after the next ``seen``.
            new = Article.objects.listed(among=Article.objects.keys_new_to(newest, seen)).stories()
            newer = list(new.order_by("id")[: LIVE_NEW_MOST + 1])
            more = len(newer) > LIVE_NEW_MOST
            newer = sorted(newer[:LIVE_NEW_MOST], key=lambda article: (article.published_at, article.pk), reverse=True)
        if newer and (newest is None or (newer[0].published_at, newer[0].pk) > newest):
            after = newer[0].pk
        seen = max([seen, *(article.pk for article in newer)])
        keys.depends_on(*keys.listed(newer))
        return super().get_context_data(
            days=timeline(newer),
            count=len(newer),
            more=more,
            next_url=live_url(after, seen),
            **kwargs,
        )
