from django.db import migrations

# The index's first layout, frozen here as it was. 0005 replaces it; the entries themselves are
# written after migrate by the live code (articles.search.index_unindexed_articles).
CREATE_SQL = {
    "sqlite": ["CREATE VIRTUAL TABLE IF NOT EXISTS articles_search USING fts5(title, body, stocks, tokenize='unicode61')"],
    "postgresql": [
        """CREATE TABLE IF NOT EXISTS articles_search (
            article_id bigint PRIMARY KEY,
            document tsvector NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS articles_search_document ON articles_search USING GIN (document)",
    ],
}
DROP_SQL = ["DROP TABLE IF EXISTS articles_search"]


def create_search_index(apps, schema_editor):
    for statement in CREATE_SQL[schema_editor.connection.vendor]:
        schema_editor.execute(statement)


def drop_search_index(apps, schema_editor):
    for statement in DROP_SQL:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    """The full-text index: an FTS5 table on SQLite, a GIN-indexed tsvector table on PostgreSQL."""

    dependencies = [("articles", "0003_info_code_default")]

    operations = [migrations.RunPython(create_search_index, drop_search_index)]
