"""Triggers that keep CampaignOutcomeHour in step with campaign messages reaching an outcome, and
the rows of the campaigns already there.

Only a status change counts (campaign messages are inserted scheduled or queued): one into
`delivered`, `undelivered` or `failed` adds one to (campaign, hour of the new `updated_at`,
status, error code, shard); one out of them (a correction) takes one from the row it was counted
in, found from the old row. On PostgreSQL once per statement over its transition tables (a stop
moves 100,000 messages in one UPDATE), upserting the rows in key order so that two statements
take their row locks in the same order; on SQLite once per row.

On SQLite, altering a column of messaging_message rebuilds the table and drops these triggers: a
later migration that does so must install them again (`install` below).
"""

from django.db import migrations

OUTCOMES = "('delivered', 'undelivered', 'failed')"
TABLE = "messaging_campaignoutcomehour"
KEY = "(campaign_id, hour, status, code, shard)"

SQLITE_ROW = """
    CREATE TRIGGER msg_campaign_outcome_{name} AFTER UPDATE OF status ON messaging_message
    WHEN {row}.campaign_id <> '' AND NEW.status <> OLD.status AND {row}.status IN {outcomes}
    BEGIN
      INSERT INTO {table} (workspace_id, campaign_id, hour, status, code, shard, n)
      VALUES ({row}.workspace_id, {row}.campaign_id,
              strftime('%Y-%m-%d %H:00:00', {row}.updated_at), {row}.status,
              CASE WHEN {row}.status = 'delivered' THEN ''
                   ELSE coalesce(json_extract({row}.error, '$.code'), 'unknown') END,
              unicode(substr({row}.id, -1, 1)) % 8, {sign})
      ON CONFLICT {key} DO UPDATE SET n = n + ({sign});
    END
"""
SQLITE = [
    SQLITE_ROW.format(name=name, row=row, sign=sign, outcomes=OUTCOMES, table=TABLE, key=KEY)
    for name, row, sign in (("in", "NEW", 1), ("out", "OLD", -1))
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS msg_campaign_outcome_in",
    "DROP TRIGGER IF EXISTS msg_campaign_outcome_out",
]

POSTGRES = [
    f"""
    CREATE FUNCTION msg_campaign_outcomes() RETURNS trigger AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_rows WHERE campaign_id <> '') THEN
        RETURN NULL;
      END IF;
      WITH moves AS (
        SELECT n.workspace_id, n.campaign_id, ascii(right(n.id, 1)) % 8 AS shard,
               o.status AS old_status, n.status AS new_status,
               date_trunc('hour', o.updated_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS old_hour,
               date_trunc('hour', n.updated_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS new_hour,
               CASE WHEN o.status = 'delivered' THEN ''
                    ELSE coalesce(o.error ->> 'code', 'unknown') END AS old_code,
               CASE WHEN n.status = 'delivered' THEN ''
                    ELSE coalesce(n.error ->> 'code', 'unknown') END AS new_code
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE n.campaign_id <> '' AND o.status <> n.status
          AND (o.status IN {OUTCOMES} OR n.status IN {OUTCOMES})
      ), deltas AS (
        SELECT workspace_id, campaign_id, old_hour AS hour, old_status AS status,
               old_code AS code, shard, -count(*) AS d
        FROM moves WHERE old_status IN {OUTCOMES} GROUP BY 1, 2, 3, 4, 5, 6
        UNION ALL
        SELECT workspace_id, campaign_id, new_hour, new_status, new_code, shard, count(*)
        FROM moves WHERE new_status IN {OUTCOMES} GROUP BY 1, 2, 3, 4, 5, 6
      )
      INSERT INTO {TABLE} AS t (workspace_id, campaign_id, hour, status, code, shard, n)
      SELECT workspace_id, campaign_id, hour, status, code, shard, sum(d)
      FROM deltas GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 2, 3, 4, 5, 6
      ON CONFLICT {KEY} DO UPDATE SET n = t.n + EXCLUDED.n;
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER msg_campaign_outcomes AFTER UPDATE ON messaging_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION msg_campaign_outcomes()
    """,
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS msg_campaign_outcomes ON messaging_message",
    "DROP FUNCTION IF EXISTS msg_campaign_outcomes()",
]

# The campaigns already there: their outcomes so far, once, from the messages.
BACKFILL = """
    INSERT INTO {table} (workspace_id, campaign_id, hour, status, code, shard, n)
    SELECT workspace_id, campaign_id, {hour}, status,
           CASE WHEN status = 'delivered' THEN '' ELSE coalesce({code}, 'unknown') END,
           {shard}, count(*)
    FROM messaging_message WHERE campaign_id <> '' AND status IN {outcomes}
    GROUP BY 1, 2, 3, 4, 5, 6
"""


def install(apps, schema_editor):
    """Create the triggers in the dialect of the database in use, then count what is there."""
    postgres = schema_editor.connection.vendor == "postgresql"
    for sql in POSTGRES if postgres else SQLITE:
        schema_editor.execute(sql, None)  # no parameters: a literal % stays itself
    dialect = (
        {
            "hour": "date_trunc('hour', updated_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
            "code": "error ->> 'code'",
            "shard": "ascii(right(id, 1)) % 8",
        }
        if postgres
        else {
            "hour": "strftime('%Y-%m-%d %H:00:00', updated_at)",
            "code": "json_extract(error, '$.code')",
            "shard": "unicode(substr(id, -1, 1)) % 8",
        }
    )
    schema_editor.execute(BACKFILL.format(table=TABLE, outcomes=OUTCOMES, **dialect), None)


def uninstall(apps, schema_editor):
    """Drop them again."""
    vendor = schema_editor.connection.vendor
    for sql in POSTGRES_DROP if vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0011_campaign_outcome_hour")]

    operations = [migrations.RunPython(install, uninstall)]
