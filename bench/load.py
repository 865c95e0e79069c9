"""Fill the database with N articles directly (bulk inserts), for page and scale benchmarks.

Articles get a category (of 7 sources plus 60 smaller ones), one or two tags, up to three stock
references and a search index entry, like imported ones. Runs inside a configured Django process
(bench/tasks.py load).
"""

import datetime as dt
import random

from django.db import connection, transaction
from django.utils import timezone

from articles.intake.stocks import normalise
from articles.models import Article, Category, StockListing, StockReference, Tag, TaggedArticle
from articles.search import index_entry
from articles.search.backends import current_backend
from finews.testing.synthetic import SOURCES, WORDS, Vocabulary, stock_pool

BATCH = 5000


def load_articles(count, seed=7, progress=print):
    rng = random.Random(seed)
    vocabulary = Vocabulary(rng)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            # A gigabyte of page cache: with SQLite's 2 MB, past 200,000 articles every batch's
            # index inserts read their pages back through the kernel (60 GB read for 380,000) and the
            # load slowed from 15,000 articles a minute to 5,000.
            cursor.execute("PRAGMA cache_size=-1048576")
    categories = [Category.objects.get_or_create(name=name, defaults={"title": title})[0] for name, title, _ in SOURCES]
    categories += [Category.objects.get_or_create(name=f"xiaoyuan{number}")[0] for number in range(60)]
    source_tags = {
        category.pk: Tag.objects.get_or_create(name=f"{category.display_name}新闻")[0] for category in categories
    }
    topic_tags = [Tag.objects.get_or_create(name=f"{a}{b}")[0] for a, b in zip(WORDS, reversed(WORDS), strict=True)]
    stocks = _stocks(rng)
    # Most news comes from the big sources, as in the corpus (emnews alone is most of it).
    weights = [40, 12, 8, 6, 6, 3, 3] + [0.3] * 60
    through = Article.stocks.through
    end = timezone.now() - dt.timedelta(hours=1)
    backend = current_backend()
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        chosen = rng.choices(categories, weights=weights, k=size)
        articles = [
            _article(rng, vocabulary, start + offset, category, end, count) for offset, category in enumerate(chosen)
        ]
        with transaction.atomic():
            Article.objects.bulk_create(articles)
            tagged, links, listings, index_rows = [], [], [], []
            for article in articles:
                tag_ids = [source_tags[article.category_id].pk]
                if rng.random() < 0.5:
                    tag_ids.append(rng.choice(topic_tags).pk)
                tagged += [TaggedArticle(content_object_id=article.pk, tag_id=tag_id) for tag_id in tag_ids]
                mentioned = rng.sample(stocks, rng.choice([0, 0, 1, 2, 3]))
                links += [through(article_id=article.pk, stockreference_id=stock.pk) for stock in mentioned]
                # As publishing writes them beside the mentions (the stock pages read these).
                listings += [
                    StockListing(stock_id=stock.pk, article_id=article.pk, published_at=article.published_at)
                    for stock in mentioned
                ]
                index_rows.append(index_entry(article, mentioned, tag_ids))
            TaggedArticle.objects.bulk_create(tagged)
            through.objects.bulk_create(links)
            StockListing.objects.bulk_create(listings)
            with connection.cursor() as cursor:
                backend.replace(cursor, index_rows)
        progress(start + size)


def _stocks(rng):
    wanted = {(market, code): name for market, code, name in stock_pool(rng)}
    references = []
    for (market_id, code), name in wanted.items():
        market, code = normalise(market_id, code)
        references.append(StockReference(code=code, market=market, name=name))
    StockReference.objects.bulk_create(references, ignore_conflicts=True)
    return list(StockReference.objects.all())


def _article(rng, vocabulary, number, category, end, count):
    # About one article in twenty mentions a given finance word somewhere; one in a hundred in its title.
    title = vocabulary.text(rng.randint(4, 8), finance_words=1 if rng.random() < 0.6 else 0)
    summary = vocabulary.text(20) + "。"
    body = "".join(f"<p>{vocabulary.text(25, finance_words=1)}。</p>" for _ in range(rng.randint(2, 6)))
    return Article(
        info_code=f"B{number:09d}",
        title=title,
        slug=f"bench-{number}",
        summary=summary,
        body=body,
        category=category,
        status=Article.Status.DRAFT if rng.random() < 0.01 else Article.Status.PUBLISHED,
        # Spread back from now, one every few minutes, newest last.
        published_at=end - dt.timedelta(minutes=3 * (count - number)),
        source_name=category.title,
    )
