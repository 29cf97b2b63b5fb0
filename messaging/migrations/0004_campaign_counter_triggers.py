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

# On PostgreSQL one trigger per statement, over its transition tables: a stop or pause moves
# 100,000 messages in one UPDATE, and a row trigger would then update the same few counter rows
# 100,000 times in one transaction (each update a new row version to walk past: minutes).
POSTGRES = [
    """
    CREATE FUNCTION msg_campaign_counters() RETURNS trigger AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_rows WHERE campaign_id <> '') THEN
        RETURN NULL;
      END IF;
      WITH moves AS (
        SELECT n.campaign_id, o.status AS old_status, n.status AS new_status,
               ascii(right(n.id, 1)) % 8 AS shard,
               round((n.reserved - o.reserved) * 10000)::bigint AS cost
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE n.campaign_id <> ''
      ), deltas AS (
        SELECT campaign_id, old_status AS status, shard, -count(*) AS d
        FROM moves WHERE old_status <> new_status GROUP BY 1, 2, 3
        UNION ALL
        SELECT campaign_id, new_status, shard, count(*)
        FROM moves WHERE old_status <> new_status GROUP BY 1, 2, 3
        UNION ALL
        SELECT campaign_id, 'cost', shard, sum(cost)
        FROM moves WHERE cost <> 0 GROUP BY 1, 2, 3
      ), summed AS (
        SELECT campaign_id, status, shard, sum(d) AS d FROM deltas GROUP BY 1, 2, 3
      )
      UPDATE messaging_campaigncounter c SET n = c.n + s.d
      FROM summed s
      WHERE c.campaign_id = s.campaign_id AND c.status = s.status AND c.shard = s.shard
        AND s.d <> 0;
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER msg_campaign_counters AFTER UPDATE ON messaging_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION msg_campaign_counters()
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
