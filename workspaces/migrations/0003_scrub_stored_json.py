"""Mend JSON values stored before the API refused them: lone surrogates, NUL, NaN/Infinity.

Audit events are left as written: the table is append-only and each row is hashed into its
chain; the API's renderer shows them safely.

See `workspaces.jsonsafe`: lone UTF-16 surrogates become U+FFFD, NUL characters are removed and
non-finite numbers become null. Only SQLite could store them; on PostgreSQL this does nothing.
"""

from django.db import migrations

from workspaces.jsonsafe import scrub_stored_json

FIELDS = {
    "Workspace": ("allowed_countries", "verified_recipients", "blocked_terms", "price_overrides"),
    "ApiToken": ("scopes",),
}


def scrub(apps, schema_editor):
    """Rewrite the rows whose JSON holds a value Tern no longer accepts."""
    scrub_stored_json(apps, schema_editor, "workspaces", FIELDS)


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0002_audit_append_only")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop, elidable=True)]
