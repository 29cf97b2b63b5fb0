"""The dashboard summaries' delta log (PostgreSQL): the triggers of 0008 upserted the hourly rows
in the changing transaction; from here they only append deltas, which the messaging sweep folds
(messaging/summaries.py says why). SQLite's triggers are unchanged. (On a new database 0008
already installs the appending triggers, as its `install` is today's; nothing writes a message
before this migration creates their table, and this one installs them again.)"""

import django.db.models.deletion
from django.db import migrations, models

from messaging import summaries


def reinstall(apps, schema_editor):
    """On PostgreSQL, replace the upserting triggers by appending ones."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in summaries.drop_triggers("postgresql"):
        schema_editor.execute(sql, None)
    summaries.install(schema_editor)


def fold_and_keep(apps, schema_editor):
    """Going back: fold what the log holds; the new triggers stay until 0008 is reversed."""
    summaries.fold(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0009_merge_0008_message_hour_stats_0008_message_search")]

    operations = [
        migrations.CreateModel(
            name="MessageStatDelta",
            fields=[
                ("test", models.BooleanField(db_index=True, default=False)),
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("hour", models.DateTimeField()),
                ("dimension", models.CharField(max_length=10)),
                ("key", models.CharField(max_length=64)),
                ("n", models.BigIntegerField()),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="workspaces.workspace",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["workspace", "test", "hour"], name="message_stat_delta_ws"
                    )
                ],
            },
        ),
        migrations.RunPython(reinstall, fold_and_keep),
    ]
