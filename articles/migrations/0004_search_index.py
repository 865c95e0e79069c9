from django.db import migrations

from articles.search.backends import backend_for


def create_search_index(apps, schema_editor):
    for statement in backend_for(schema_editor.connection.vendor).create_sql:
        schema_editor.execute(statement)


def drop_search_index(apps, schema_editor):
    for statement in backend_for(schema_editor.connection.vendor).drop_sql:
        schema_editor.execute(statement)


def index_existing_articles(apps, schema_editor):
    from articles.search import rebuild_index

    rebuild_index()


class Migration(migrations.Migration):
    """The full-text index: an FTS5 table on SQLite, a GIN-indexed tsvector table on PostgreSQL."""

    dependencies = [("articles", "0003_info_code_default")]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
        migrations.RunPython(index_existing_articles, migrations.RunPython.noop),
    ]
