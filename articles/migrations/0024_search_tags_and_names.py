"""An index on the capitals of tags' and stocks' names: search looks a query up by the name, case
aside (articles/search/names.py).

Search also finds an article by its tags from here on: an index entry holds a token for each tag
its article carries (articles/search/text.py: tag_token). Entries are left as they are here: a
migration runs while the release before it serves, and taking out the entries of every tagged
article (nearly all) would leave its search empty until they were written again. Each entry gets
its tags' tokens at its article's next change, or from `manage.py rebuild_search_index`, which
writes every entry again in place (the README's upgrade notes).
"""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0023_cover_list_image"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="stockreference",
            index=models.Index(django.db.models.functions.text.Upper("name"), name="stock_name_capitals"),
        ),
        migrations.AddIndex(
            model_name="tag",
            index=models.Index(django.db.models.functions.text.Upper("name"), name="tag_name_capitals"),
        ),
    ]
