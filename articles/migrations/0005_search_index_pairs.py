from django.db import migrations

# The index's second layout (CJK character pairs, entries keyed newest first), frozen here as it
# was. The old index cannot be converted: it is dropped, and the entries are written again after
# migrate by the live code (articles.search.index_unindexed_articles).
CREATE_SQL = {
    "sqlite": [
        """CREATE TABLE IF NOT EXISTS articles_search_document (
            key INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL UNIQUE,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            stocks TEXT NOT NULL
        )""",
        """CREATE VIRTUAL TABLE IF NOT EXISTS articles_search USING fts5(
            title, body, stocks,
            content='articles_search_document', content_rowid='key', tokenize='unicode61', prefix='1'
        )""",
        """CREATE TRIGGER IF NOT EXISTS articles_search_document_inserted
        AFTER INSERT ON articles_search_document BEGIN
            INSERT INTO articles_search (rowid, title, body, stocks)
            VALUES (new.key, new.title, new.body, new.stocks);
        END""",
        """CREATE TRIGGER IF NOT EXISTS articles_search_document_deleted
        AFTER DELETE ON articles_search_document BEGIN
            INSERT INTO articles_search (articles_search, rowid, title, body, stocks)
            VALUES ('delete', old.key, old.title, old.body, old.stocks);
        END""",
    ],
    "postgresql": [
        """CREATE TABLE IF NOT EXISTS articles_search (
            article_id bigint PRIMARY KEY,
            key bigint NOT NULL,
            title tsvector NOT NULL,
            document tsvector NOT NULL
        )""",
        "ALTER TABLE articles_search ALTER COLUMN title SET STATISTICS 1000",
        "ALTER TABLE articles_search ALTER COLUMN document SET STATISTICS 1000",
        "CREATE INDEX IF NOT EXISTS articles_search_title ON articles_search USING GIN (title)",
        "CREATE INDEX IF NOT EXISTS articles_search_document ON articles_search USING GIN (document)",
        "CREATE INDEX IF NOT EXISTS articles_search_key ON articles_search (key)",
    ],
}
DROP_SQL = {
    "sqlite": [
        "DROP TABLE IF EXISTS articles_search",
        "DROP TABLE IF EXISTS articles_search_document",
    ],
    "postgresql": ["DROP TABLE IF EXISTS articles_search"],
}


def recreate_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in DROP_SQL[vendor] + CREATE_SQL[vendor]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    """The index in its second layout: CJK character pairs, and entries keyed newest first."""

    dependencies = [("articles", "0004_search_index")]

    operations = [migrations.RunPython(recreate_search_index, migrations.RunPython.noop)]
