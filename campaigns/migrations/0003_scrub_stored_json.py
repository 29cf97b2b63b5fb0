"""Mend JSON values stored before the API refused them: lone surrogates, NUL, NaN/Infinity.

See `workspaces.jsonsafe`: lone UTF-16 surrogates become U+FFFD, NUL characters are removed and
non-finite numbers become null. Only SQLite could store them; on PostgreSQL this does nothing.
"""

from django.db import migrations

from workspaces.jsonsafe import scrub_stored_json

FIELDS = {
    "Contact": ("tags", "attributes"),
    "ContactImport": ("tags", "errors"),
    "Campaign": ("audience", "opt_out_keywords", "skipped"),
}


def scrub(apps, schema_editor):
    """Rewrite the rows whose JSON holds a value Tern no longer accepts."""
    scrub_stored_json(apps, schema_editor, "campaigns", FIELDS)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0002_campaigns_and_imports")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop, elidable=True)]
