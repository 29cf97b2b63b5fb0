"""The statement triggers that join a statement's old and new rows by id plan that join without
nested loops.

PL/pgSQL caches each query's plan from the function's first call in a session, when the
transition tables usually held one row: a nested loop, which turns quadratic when one statement
moves thousands of messages (a stop, a booking of a campaign's window): 8,000 rows took 37 s
instead of 2.7 s. `SET enable_nestloop = off` on the function holds for its own queries only.
"""

from django.db import migrations

JOINING = ("msg_stats_update", "msg_campaign_counters", "msg_campaign_outcomes")


def forwards(apps, schema_editor):
    """Only PostgreSQL has these functions (SQLite's triggers are per row)."""
    if schema_editor.connection.vendor == "postgresql":
        for name in JOINING:
            schema_editor.execute(f"ALTER FUNCTION {name}() SET enable_nestloop = off")


def backwards(apps, schema_editor):
    """Plan them as any other query again."""
    if schema_editor.connection.vendor == "postgresql":
        for name in JOINING:
            schema_editor.execute(f"ALTER FUNCTION {name}() RESET enable_nestloop")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0013_merge_refusals_and_campaign_outcomes")]

    operations = [migrations.RunPython(forwards, backwards)]
