from django.db import migrations

from articles.search.backends import backend_for


def recreate_search_index(apps, schema_editor):
    backend = backend_for(schema_editor.connection.vendor)
    for statement in backend.drop_sql + backend.create_sql:
        schema_editor.execute(statement)


def index_existing_articles(apps, schema_editor):
    from articles.search import rebuild_index

    rebuild_index()


class Migration(migrations.Migration):
    """The index in its second layout: CJK character pairs, and entries keyed newest first.

    The old index cannot be converted, so it is dropped and every article indexed again.
    """

    dependencies = [("articles", "0004_search_index")]

    operations = [
        migrations.RunPython(recreate_search_index, migrations.RunPython.noop),
        migrations.RunPython(index_existing_articles, migrations.RunPython.noop),
    ]
