"""Triggers that keep CampaignCounter in step with campaign messages' status and reservation.

On SQLite, altering a column of messaging_message rebuilds the table and drops these triggers: a
later migration that does so must install them again (`install` below).
"""

from django.db import migrations

# The shard is the last character of the message id (ULID randomness), the same on both engines.
SQLITE = [
    """
    CREATE TRIGGER msg_campaign_status AFTER UPDATE OF status ON messaging_message
    WHEN NEW.campaign_id <> '' AND NEW.status <> OLD.status
    BEGIN
      UPDATE messaging_campaigncounter SET n = n - 1
      WHERE campaign_id = OLD.campaign_id AND status = OLD.status
        AND shard = unicode(substr(OLD.id, -1, 1)) % 8;
      UPDATE messaging_campaigncounter SET n = n + 1
      WHERE campaign_id = NEW.campaign_id AND status = NEW.status
        AND shard = unicode(substr(NEW.id, -1, 1)) % 8;
    END
    """,
    """
    CREATE TRIGGER msg_campaign_cost AFTER UPDATE OF reserved ON messaging_message
    WHEN NEW.campaign_id <> '' AND NEW.reserved <> OLD.reserved
    BEGIN
      UPDATE messaging_campaigncounter
      SET n = n + CAST(ROUND((NEW.reserved - OLD.reserved) * 10000) AS INTEGER)
      WHERE campaign_id = NEW.campaign_id AND status = 'cost'
        AND shard = unicode(substr(NEW.id, -1, 1)) % 8;
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS msg_campaign_status",
    "DROP TRIGGER IF EXISTS msg_campaign_cost",
]

POSTGRES = [
    """
    CREATE FUNCTION msg_campaign_counters() RETURNS trigger AS $$
    DECLARE
      k integer := ascii(right(NEW.id, 1)) % 8;
    BEGIN
      IF NEW.status IS DISTINCT FROM OLD.status THEN
        UPDATE messaging_campaigncounter SET n = n - 1
        WHERE campaign_id = OLD.campaign_id AND status = OLD.status AND shard = k;
        UPDATE messaging_campaigncounter SET n = n + 1
        WHERE campaign_id = NEW.campaign_id AND status = NEW.status AND shard = k;
      END IF;
      IF NEW.reserved IS DISTINCT FROM OLD.reserved THEN
        UPDATE messaging_campaigncounter
        SET n = n + round((NEW.reserved - OLD.reserved) * 10000)::bigint
        WHERE campaign_id = NEW.campaign_id AND status = 'cost' AND shard = k;
      END IF;
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER msg_campaign_counters AFTER UPDATE OF status, reserved ON messaging_message
    FOR EACH ROW WHEN (NEW.campaign_id <> '')
    EXECUTE FUNCTION msg_campaign_counters()
    """,
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS msg_campaign_counters ON messaging_message",
    "DROP FUNCTION IF EXISTS msg_campaign_counters()",
]


def install(apps, schema_editor):
    """Create the triggers in the dialect of the database in use."""
    vendor = schema_editor.connection.vendor
    for sql in POSTGRES if vendor == "postgresql" else SQLITE:
        schema_editor.execute(sql, None)  # no parameters: a literal % stays itself


def uninstall(apps, schema_editor):
    """Drop them again."""
    vendor = schema_editor.connection.vendor
    for sql in POSTGRES_DROP if vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql, None)  # no parameters: a literal % stays itself


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_campaign_indexes")]

    operations = [migrations.RunPython(install, uninstall)]
