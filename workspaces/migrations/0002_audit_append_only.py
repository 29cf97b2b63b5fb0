"""The database refuses UPDATE, DELETE and TRUNCATE on the audit log (PostgreSQL and SQLite)."""

from django.db import migrations


def install(apps, schema_editor):
    from workspaces.audit import install_guards

    install_guards(schema_editor.connection)


def remove(apps, schema_editor):
    from workspaces.audit import remove_guards

    remove_guards(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
