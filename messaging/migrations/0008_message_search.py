"""The console's search (messaging/search.py): indexes for a number, an error code, and text.

Text uses a pg_trgm GIN index on UPPER(body): the expression Django writes for `icontains` on
PostgreSQL (`UPPER(body::text) LIKE UPPER('%…%')`), so `%word%` searches use it. SQLite has no
trigram index: there the search is a LIKE scan, which its small databases afford.
"""

import django.db.models.fields.json
from django.db import migrations, models


TRGM_INDEX = "msg_body_trgm"
TRGM_SQL = (
    f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON messaging_message "
    "USING gin (UPPER(body) gin_trgm_ops)"
)


def add_trigram_index(apps, schema_editor):
    """PostgreSQL only: the pg_trgm extension and the body's trigram index."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(TRGM_SQL)


def drop_trigram_index(apps, schema_editor):
    """The reverse: the index goes, the extension stays (other databases' objects may use it)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0007_records'),
        ('workspaces', '0003_scrub_stored_json'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['workspace', 'to_number', '-created_at'], name='msg_ws_to'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['workspace', 'from_number', '-created_at'], name='msg_ws_from'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(models.F('workspace_id'), django.db.models.fields.json.KeyTextTransform('code', 'error'), models.OrderBy(models.F('created_at'), descending=True), condition=models.Q(('error__isnull', False)), name='msg_ws_error'),
        ),
        migrations.RunPython(add_trigram_index, drop_trigram_index, elidable=False),
    ]
