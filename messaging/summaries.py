"""The dashboard's summaries: outbound messages per (workspace, mode, UTC hour, dimension, key).

Why triggers, not updates in the lifecycle: a message's status changes in many places (the send,
the batch and campaign inserts, the worker's claim, provider reports, sweeps, cancel, campaign
pause and stop as one UPDATE of 100,000 rows, and bulk inserts by tools). A trigger on INSERT and
on UPDATE of `messaging_message` sees every one of them, in the changing transaction, so the
summaries can never disagree with the messages, whoever writes them. It is the house's way already
(CampaignCounter). On PostgreSQL the triggers run once per statement over its transition tables
(one grouped upsert per statement, whatever its size); on SQLite once per row.

What is counted (outbound only: the dashboard is about sends; inbound `received` is not counted):
- `status`: every message, under its current status, in the hour it was created. A status change
  moves the message from one key to the other in the same hour bucket.
- `error_code`, `country`, `sender`: failures only (`failed` and `undelivered`), by the error's
  catalogue code (`unknown` when none), the recipient's country (ISO 3166 alpha-2 by longest
  dialling prefix in DialPrefix; `ZZ` when unknown) and the sender number.

Hot rows: on PostgreSQL the triggers never update a summary row. They append their statement's
grouped deltas to MessageStatDelta (inserts only: no row a second transaction could wait on),
and `fold` (run by the messaging sweep every 15 s, bounded) moves them into the hourly rows in
short transactions of its own. Readers add the deltas not yet folded, so the numbers are exact
at every moment. Updating the hourly rows in the changing transaction instead would hold the
current hour's `queued` row from a campaign launch's first INSERT to its commit (every send of
the workspace waiting behind it) and take it in the opposite order to the spend row a send
holds (deadlocks). SQLite serializes writers anyway: there the triggers upsert directly.

On SQLite, a migration that alters a column of messaging_message rebuilds the table and drops
these triggers (as it does CampaignCounter's): it must call `install` again.
"""

# Every statement here is built from this module's constants, never from input.
# ruff: noqa: S608

import phonenumbers
from django.db import models, transaction

from workspaces.models import ModeScopedModel

FAILED_STATUSES = ("failed", "undelivered")
DIMENSIONS = ("status", "error_code", "country", "sender")
UNKNOWN_CODE, UNKNOWN_COUNTRY = "unknown", "ZZ"
STAT_TABLE, DELTA_TABLE, MESSAGE_TABLE, PREFIX_TABLE = (
    "messaging_messagehourstat",
    "messaging_messagestatdelta",
    "messaging_message",
    "messaging_dialprefix",
)


class MessageHourStat(ModeScopedModel):
    """How many outbound messages created in one UTC hour have one key of one dimension."""

    hour = models.DateTimeField()  # the UTC hour the messages were created in
    dimension = models.CharField(max_length=10)
    key = models.CharField(max_length=64)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test", "hour", "dimension", "key"],
                name="message_hour_stat_unique",
            ),
        ]


class MessageStatDelta(ModeScopedModel):
    """A change to MessageHourStat not yet folded into it (PostgreSQL): triggers only append
    here, so no transaction ever waits on another for a summary row."""

    id = models.BigAutoField(primary_key=True)
    hour = models.DateTimeField()
    dimension = models.CharField(max_length=10)
    key = models.CharField(max_length=64)
    n = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "test", "hour"], name="message_stat_delta_ws")]


class DialPrefix(models.Model):
    """A dialling prefix (`+44`, `+1416`) and its country: the triggers' country lookup.

    A platform-wide fact, filled by the migration from libphonenumber: every country code, plus
    the NANP's area codes (`+1` + 3 digits) and Kazakhstan's `+76`/`+77`, whose country the
    code alone does not decide. Other shared codes count under their main country (Jersey as GB).
    """

    prefix = models.CharField(max_length=8, primary_key=True)
    country = models.CharField(max_length=2)


def dial_prefixes() -> dict[str, str]:
    """Prefix → country, from libphonenumber's metadata."""
    found = {
        f"+{code}": phonenumbers.region_code_for_country_code(code)
        for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    }
    for area in range(200, 1000):
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(f"{area}2345678"))
        region = phonenumbers.region_code_for_number(number)
        if region and region != "US":
            found[f"+1{area}"] = region
    found["+76"] = found["+77"] = "KZ"
    return {p: c for p, c in found.items() if c and c != "001"}


def prefixes_fill() -> int:
    """Store the dialling prefixes when the table is empty (the migration; a flushed test
    database); how many rows it added."""
    if DialPrefix.objects.exists():
        return 0
    rows = [DialPrefix(prefix=p, country=c) for p, c in dial_prefixes().items()]
    return len(DialPrefix.objects.bulk_create(rows))


def installed(connection) -> set[str]:
    """The names of this module's triggers present in the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'msg_stats_%%'")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall() if name.startswith("msg_stats_")}


def _hour(column: str, vendor: str) -> str:
    """The UTC hour of a timestamp column, in SQL."""
    if vendor == "postgresql":
        return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return f"strftime('%Y-%m-%d %H:00:00', {column})"


def _error_code(column: str, vendor: str) -> str:
    """The catalogue code of a message's `error` JSON, or `unknown`."""
    code = f"{column}->>'code'" if vendor == "postgresql" else f"json_extract({column}, '$.code')"
    return f"coalesce({code}, '{UNKNOWN_CODE}')"


def _country(column: str) -> str:
    """The recipient's country by its longest dialling prefix (same SQL on both engines)."""
    probes = ", ".join(f"substr({column}, 1, {n})" for n in (2, 3, 4, 5))
    lookup = (
        f"SELECT country FROM {PREFIX_TABLE} WHERE prefix IN ({probes}) "
        "ORDER BY length(prefix) DESC LIMIT 1"
    )
    return f"coalesce(({lookup}), '{UNKNOWN_COUNTRY}')"


def expand(source: str, sign: int, vendor: str) -> str:
    """SELECT (workspace_id, test, hour, dimension, key, d) for the outbound rows of `source`:
    one `status` row each, and for failures one row per failure dimension."""
    hour = _hour("r.created_at", vendor)
    failed = ", ".join(f"'{s}'" for s in FAILED_STATUSES)
    keys = {
        "status": ("r.status", ""),
        "error_code": (_error_code("r.error", vendor), f" AND r.status IN ({failed})"),
        "country": (_country("r.to_number"), f" AND r.status IN ({failed})"),
        "sender": ("r.from_number", f" AND r.status IN ({failed})"),
    }
    return " UNION ALL ".join(
        f"SELECT r.workspace_id, r.test, {hour} AS hour, '{dim}' AS dimension, {key} AS key, "
        f"{sign} AS d FROM {source} r WHERE r.direction = 'outbound'{extra}"
        for dim, (key, extra) in keys.items()
    )


def upsert(deltas: str) -> str:
    """Add grouped deltas to the summary rows, in key order (never two locks in opposite orders)."""
    return (
        f'INSERT INTO {STAT_TABLE} (workspace_id, test, hour, dimension, "key", n) '
        "SELECT workspace_id, test, hour, dimension, key, sum(d) "
        f"FROM ({deltas}) deltas WHERE true "
        "GROUP BY workspace_id, test, hour, dimension, key HAVING sum(d) <> 0 "
        "ORDER BY workspace_id, test, hour, dimension, key "
        f'ON CONFLICT (workspace_id, test, hour, dimension, "key") '
        f"DO UPDATE SET n = {STAT_TABLE}.n + excluded.n"
    )


def append(deltas: str) -> str:
    """Append grouped deltas to the log (PostgreSQL's triggers): inserts only, no row locks."""
    return (
        f'INSERT INTO {DELTA_TABLE} (workspace_id, test, hour, dimension, "key", n) '
        "SELECT workspace_id, test, hour, dimension, key, sum(d) "
        f"FROM ({deltas}) deltas "
        "GROUP BY workspace_id, test, hour, dimension, key HAVING sum(d) <> 0"
    )


FOLD = f"""
WITH moved AS (
  DELETE FROM {DELTA_TABLE} WHERE id IN (SELECT id FROM {DELTA_TABLE} ORDER BY id LIMIT %s)
  RETURNING workspace_id, test, hour, dimension, "key", n
)
INSERT INTO {STAT_TABLE} (workspace_id, test, hour, dimension, "key", n)
SELECT workspace_id, test, hour, dimension, "key", sum(n) FROM moved
GROUP BY workspace_id, test, hour, dimension, "key" HAVING sum(n) <> 0
ORDER BY workspace_id, test, hour, dimension, "key"
ON CONFLICT (workspace_id, test, hour, dimension, "key")
DO UPDATE SET n = {STAT_TABLE}.n + excluded.n
"""


def fold(connection, *, batch: int = 20_000, batches: int = 50) -> int:
    """Move the log's deltas into the hourly rows (the messaging sweep, every 15 s): a bounded
    job, each batch one short transaction. Readers add the log's rest, so a late fold only costs
    read time. Two folds at once never count a delta twice: the second's DELETE skips the
    rows the first removed. Returns the batches run."""
    if connection.vendor != "postgresql":
        return 0  # SQLite's triggers write the hourly rows themselves
    folded = 0
    for _ in range(batches):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(FOLD, [batch])
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DELTA_TABLE})")
            (left,) = cursor.fetchone()
        folded += 1
        if not left:
            break
    return folded


def _row(alias: str) -> str:
    """A one-row subquery of a SQLite trigger's NEW or OLD row."""
    columns = ("workspace_id", "test", "created_at", "status", "error", "to_number", "from_number")
    columns += ("direction",)
    return "(SELECT " + ", ".join(f"{alias}.{c} AS {c}" for c in columns) + ")"


def sqlite_triggers() -> list[str]:
    """Row triggers: INSERT counts the new row; UPDATE of status or error moves it."""
    insert = upsert(expand(_row("NEW"), 1, "sqlite"))
    moved = upsert(
        f"{expand(_row('OLD'), -1, 'sqlite')} UNION ALL {expand(_row('NEW'), 1, 'sqlite')}"
    )
    return [
        f"CREATE TRIGGER msg_stats_insert AFTER INSERT ON {MESSAGE_TABLE} "
        f"WHEN NEW.direction = 'outbound' BEGIN {insert}; END",
        f"CREATE TRIGGER msg_stats_update AFTER UPDATE OF status, error ON {MESSAGE_TABLE} "
        "WHEN NEW.direction = 'outbound' "
        "AND (OLD.status IS NOT NEW.status OR OLD.error IS NOT NEW.error) "
        f"BEGIN {moved}; END",
    ]


def postgres_triggers() -> list[str]:
    """Statement triggers over transition tables: one grouped upsert per statement.

    The update function joins its old and new rows by id. PL/pgSQL keeps the plan of a function's
    first call, made when the transition tables held a row or two: a nested loop, quadratic once
    one statement moves thousands (8,000 rows took 37 s). Without nested loops it hashes.
    """
    moved = (
        "SELECT {side}.* FROM old_rows o JOIN new_rows n ON n.id = o.id "
        "WHERE o.status IS DISTINCT FROM n.status OR o.error IS DISTINCT FROM n.error"
    )
    pg = "postgresql"
    update_body = append(
        f"WITH moved_old AS MATERIALIZED ({moved.format(side='o')}), "
        f"moved_new AS MATERIALIZED ({moved.format(side='n')}) "
        f"{expand('moved_old', -1, pg)} UNION ALL {expand('moved_new', 1, pg)}"
    )
    return [
        f"""CREATE FUNCTION msg_stats_insert() RETURNS trigger AS $$
        BEGIN
          {append(expand("new_rows", 1, "postgresql"))};
          RETURN NULL;
        END $$ LANGUAGE plpgsql""",
        f"""CREATE FUNCTION msg_stats_update() RETURNS trigger AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                         WHERE o.status IS DISTINCT FROM n.status
                            OR o.error IS DISTINCT FROM n.error) THEN
            RETURN NULL;
          END IF;
          {update_body};
          RETURN NULL;
        END $$ LANGUAGE plpgsql SET enable_nestloop = off""",
        f"CREATE TRIGGER msg_stats_insert AFTER INSERT ON {MESSAGE_TABLE} "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION msg_stats_insert()",
        f"CREATE TRIGGER msg_stats_update AFTER UPDATE ON {MESSAGE_TABLE} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION msg_stats_update()",
    ]


def drop_triggers(vendor: str) -> list[str]:
    """The statements removing what `install` created."""
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS msg_stats_insert ON {MESSAGE_TABLE}",
            f"DROP TRIGGER IF EXISTS msg_stats_update ON {MESSAGE_TABLE}",
            "DROP FUNCTION IF EXISTS msg_stats_insert()",
            "DROP FUNCTION IF EXISTS msg_stats_update()",
        ]
    return ["DROP TRIGGER IF EXISTS msg_stats_insert", "DROP TRIGGER IF EXISTS msg_stats_update"]


def install(schema_editor) -> None:
    """Create the triggers in the dialect of the database in use."""
    vendor = schema_editor.connection.vendor
    for sql in postgres_triggers() if vendor == "postgresql" else sqlite_triggers():
        schema_editor.execute(sql, None)  # no parameters: a literal % stays itself


def rebuild(connection, *, workspace_id: str | None = None, batch: int = 50_000) -> None:
    """Recount the summaries from the messages (the migration's backfill; a repair tool), in
    batches of message ids. Run it where no message changes meanwhile (the migration's lock)."""
    where = "WHERE workspace_id = %s" if workspace_id else ""
    params = [workspace_id] if workspace_id else []
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {STAT_TABLE} {where}", params)
        if DELTA_TABLE in connection.introspection.table_names(cursor):  # not yet in 0008
            cursor.execute(f"DELETE FROM {DELTA_TABLE} {where}", params)
        last = ""
        while True:
            cursor.execute(
                f"SELECT id FROM {MESSAGE_TABLE} WHERE id > %s "
                f"{'AND workspace_id = %s' if workspace_id else ''} "
                "ORDER BY id LIMIT 1 OFFSET %s",
                [last, *params, batch - 1],
            )
            row = cursor.fetchone()
            upto = row[0] if row else None
            span = "id > %s" + (" AND id <= %s" if upto else "")
            source = (
                f"(SELECT * FROM {MESSAGE_TABLE} WHERE {span}"
                f"{' AND workspace_id = %s' if workspace_id else ''})"
            )
            sql = upsert(expand(source, 1, connection.vendor))
            args = [last, *([upto] if upto else []), *params]
            # expand() names the source four times: once per dimension.
            cursor.execute(sql, args * len(DIMENSIONS))
            if upto is None:
                return
            last = upto
