"""Set-based writes of a campaign's messages: insert them all, release or cancel them.

A campaign moves thousands of messages at once, so these are single statements (COPY, INSERT,
UPDATE … RETURNING), never a loop of saves. Each message's timeline still gets its event, and
the per-campaign status counters (messaging's CampaignCounter, kept with the message table)
follow every change through the database's triggers.
"""

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from messaging import pricing
from messaging.models import CampaignCounter, Message, MessageEvent, Status
from messaging.resources import message_event_data
from webhooks.events import emit_many, wanted
from workspaces import clock
from workspaces.audit import json_safe
from workspaces.errors import delivery_error
from workspaces.models import units_to_usd, usd_to_units
from workspaces.selectors import month_start

COUNTED_STATUSES = (
    Status.SCHEDULED,
    Status.QUEUED,
    Status.SENDING,
    Status.SENT,
    Status.DELIVERED,
    Status.UNDELIVERED,
    Status.FAILED,
    Status.CANCELED,
)
MESSAGE_COLUMNS = (
    "id",
    "workspace_id",
    "test",
    "direction",
    "status",
    "to_number",
    "from_number",
    "body",
    "category",
    "segments",
    "encoding",
    "price",
    "currency",
    "reserved",
    "campaign_id",
    "provider",
    "metadata",
    "send_at",
    "attempts",
    "review",
    "system_reply",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = ("workspace_id", "message_id", "event", "at", "detail")


@dataclass(slots=True)
class CampaignMessage:
    """One recipient's message as the fan-out decided it; `passed` is its policy_passed detail,
    as JSON text (the fan-out writes it from parts it has already checked)."""

    id: str
    to: str
    body: str
    segments: int
    encoding: str
    price: Decimal
    passed: str


def shard_of(message_id: str) -> int:
    """The counter shard of a message (as the triggers compute it: last character mod 8)."""
    return ord(message_id[-1]) % CampaignCounter.SHARDS


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BATCH = 5000


def _copy_field(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value).translate(_COPY_ESCAPES)


def _write_rows(table: str, columns: tuple, rows: Iterable[tuple], lines=None) -> None:
    """Insert many rows: COPY (text format, in batches) on PostgreSQL, else executemany.

    `lines`, when given, are the same rows already in COPY's text format (hot callers build
    them with their constant fields formatted once).
    """
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        lines = lines if lines is not None else ("\t".join(map(_copy_field, r)) for r in rows)
        # The same connection as Django's, so the rows join the caller's transaction.
        raw = connection.connection.cursor()
        with raw, raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            while batch := list(itertools.islice(lines, _COPY_BATCH)):
                copy.write("\n".join(batch) + "\n")
        return
    # Table and column names come from our models, never from input.
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
            list(rows),
        )


def _db_time(value):
    """A datetime as the database driver takes it."""
    return connection.ops.adapt_datetimefield_value(value)


def campaign_messages_insert(
    *,
    workspace_id: str,
    test: bool,
    campaign_id: str,
    from_number: str,
    provider: str,
    messages: list[CampaignMessage],
    send_at=None,
) -> None:
    """Write a campaign's messages (queued, or scheduled for `send_at`) with their first events.

    Queued messages carry no due time: the campaign's pump books their slots and sets one.
    """
    now = clock.now()
    status = Status.SCHEDULED if send_at else Status.QUEUED
    at, send_time = _db_time(now), _db_time(send_at) if send_at else None
    rows = [
        (
            m.id,
            workspace_id,
            test,
            Message.OUTBOUND,
            status,
            m.to,
            from_number,
            m.body,
            Message.MARKETING,
            m.segments,
            m.encoding,
            m.price,
            "USD",
            m.price,
            campaign_id,
            provider,
            "{}",
            send_time,
            0,
            "",
            False,
            at,
            at,
        )
        for m in messages
    ]
    varying = (0, 5, 7, 9, 10, 11, 13)  # id, to, body, segments, encoding, price, reserved
    _write_rows(Message._meta.db_table, MESSAGE_COLUMNS, rows, lines=_fast_lines(rows, varying))
    if send_at:
        last_event = "scheduled"
        last_detail = json.dumps(json_safe({"send_at": send_at, "campaign": campaign_id}))
    else:
        last_event, last_detail = "queued", json.dumps({"campaign": campaign_id})
    events = [
        row
        for m in messages
        for row in (
            (workspace_id, m.id, "policy_passed", at, m.passed),
            (workspace_id, m.id, last_event, at, last_detail),
        )
    ]
    _write_rows(
        MessageEvent._meta.db_table, EVENT_COLUMNS, events, lines=_fast_lines(events, (1, 2, 4))
    )
    _counters_create(workspace_id, campaign_id, status, messages)


def _fast_lines(rows: list[tuple], varying: tuple[int, ...]):
    """COPY lines of rows that differ only at the `varying` positions: the constant fields are
    formatted once, from the first row, into the pieces between them (the fan-out's hot loop)."""
    if not rows:
        return iter(())
    marker = "\x00"  # never in a formatted field: COPY's text format cannot carry NUL
    fields = [marker if i in varying else _copy_field(v) for i, v in enumerate(rows[0])]
    pieces = "\t".join(fields).split(marker)
    last = pieces[-1]

    def lines():
        for row in rows:
            out = []
            for piece, index in zip(pieces, varying, strict=False):
                out.append(piece)
                out.append(_copy_field(row[index]))
            out.append(last)
            yield "".join(out)

    return lines()


def _counters_create(workspace_id: str, campaign_id: str, status: str, messages: list) -> None:
    """Every counter row of the campaign, holding what was just inserted."""
    counts = [0] * CampaignCounter.SHARDS
    cost = [0] * CampaignCounter.SHARDS
    for m in messages:
        shard = shard_of(m.id)
        counts[shard] += 1
        cost[shard] += usd_to_units(m.price)
    rows = [
        CampaignCounter(
            workspace_id=workspace_id,
            campaign_id=campaign_id,
            status=name,
            shard=shard,
            n=counts[shard] if name == status else 0,
        )
        for name in COUNTED_STATUSES
        for shard in range(CampaignCounter.SHARDS)
    ] + [
        CampaignCounter(
            workspace_id=workspace_id,
            campaign_id=campaign_id,
            status=CampaignCounter.COST,
            shard=shard,
            n=cost[shard],
        )
        for shard in range(CampaignCounter.SHARDS)
    ]
    CampaignCounter.objects.bulk_create(rows)


def campaign_counts(*, campaign_id: str) -> dict:
    """Messages per status and the cost so far (one consistent read of the counters)."""
    totals = {name: 0 for name in COUNTED_STATUSES}
    totals[CampaignCounter.COST] = 0
    rows = CampaignCounter.objects.filter(campaign_id=campaign_id).values("status")
    for row in rows.annotate(total=Sum("n")):
        totals[row["status"]] = int(row["total"])
    cost = units_to_usd(totals.pop(CampaignCounter.COST))
    return {"counts": totals, "cost": cost}


def _move(campaign_id: str, from_statuses: tuple, sets: str, params: list) -> list[tuple]:
    """UPDATE the campaign's messages in these statuses; the rows changed (id, workspace, price,
    created). An unsent message's reservation is its price: settlement comes only at the end."""
    marks = ", ".join(["%s"] * len(from_statuses))
    sql = (
        f"UPDATE {Message._meta.db_table} SET {sets}, updated_at = %s "  # noqa: S608
        f"WHERE campaign_id = %s AND status IN ({marks}) "
        "RETURNING id, workspace_id, price, created_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _db_time(clock.now()), campaign_id, *from_statuses])
        return cursor.fetchall()


def _events_for(rows: list[tuple], event: str, detail: dict) -> None:
    """One timeline event for each moved row, with the same detail."""
    at, data = _db_time(clock.now()), json.dumps(json_safe(detail))
    _write_rows(
        MessageEvent._meta.db_table, EVENT_COLUMNS, ((r[1], r[0], event, at, data) for r in rows)
    )


def campaign_messages_release(*, campaign_id: str) -> int:
    """The scheduled launch time came (or a campaign paused before pauses kept statuses
    resumes): `scheduled` → `queued`, for the pump to book."""
    rows = _move(campaign_id, (Status.SCHEDULED,), "status = %s, due_at = NULL", [Status.QUEUED])
    _events_for(rows, "queued", {"campaign": campaign_id})
    return len(rows)


def campaign_messages_cancel(*, campaign) -> int:
    """Stop: every unsent message → `canceled` (`stopped_by_user`), its reservation released.

    Messages already claimed by a worker (`sending`) are past stopping and finish normally.
    """
    campaign_id, test = campaign.pk, campaign.test
    error = json.dumps(delivery_error("stopped_by_user"))
    now = clock.now()
    # Spend before counters, as a report settles: the move's triggers take the counter rows, and a
    # report holding a spend row while it waits for one of them would deadlock with this stop.
    pricing.spend_lock(workspace_id=campaign.workspace_id, since=campaign.created_at)
    rows = _move(
        campaign_id,
        (Status.QUEUED, Status.SCHEDULED),
        "status = %s, due_at = NULL, error = %s, reserved = 0, settled_at = %s",
        [Status.CANCELED, error, _db_time(now)],
    )
    _events_for(rows, "canceled", {"code": "stopped_by_user", "campaign": campaign_id})
    released: dict = {}
    for _, workspace_id, price, created_at in rows:
        key = (workspace_id, month_start(aware_utc(created_at)))
        released[key] = released.get(key, Decimal(0)) + Decimal(str(price))
    for (workspace_id, month), amount in released.items():
        pricing.spend_adjust(workspace_id=workspace_id, month=month, delta=-amount)
    if rows and wanted(workspace_id=rows[0][1], test=test, type="message.canceled"):
        canceled = Message.objects.filter(pk__in=[r[0] for r in rows])
        emit_many(
            workspace_id=rows[0][1],
            test=test,
            type="message.canceled",
            items=[message_event_data(m) for m in canceled.iterator()],
        )
    return len(rows)


def aware_utc(value) -> datetime:
    """A stored time from a raw query: SQLite hands back naive UTC datetimes, or text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def campaign_messages_announce(*, workspace_id: str, test: bool, message_ids: list[str]) -> None:
    """`message.queued` for a campaign's new messages, when an endpoint asks for it."""
    if message_ids and wanted(workspace_id=workspace_id, test=test, type="message.queued"):
        queued = Message.objects.filter(pk__in=message_ids)
        emit_many(
            workspace_id=workspace_id,
            test=test,
            type="message.queued",
            items=[message_event_data(m) for m in queued.iterator()],
        )
