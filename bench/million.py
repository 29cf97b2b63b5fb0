"""A workspace with a million messages, made the fastest way: `INSERT … SELECT generate_series`.

`million_messages(workspace, n)` tops the workspace's live messages up to `n` (shared by the
benchmarks that need a big workspace: list_scale, the dashboard). Rows look like a month of
traffic: mostly delivered outbound sends from the workspace's sender to many numbers, some sent,
undelivered and failed (with catalogue error codes), one in twenty inbound; varied bodies so a
text search has something to find; created over the last 30 days. No timeline events are made
(a page reads a page's events by message id, whatever the table's size).

Run in a process with Django set up on the bench's database, or as
`python -m bench.million <workspace_id> <n>` (prints {"inserted", "seconds", "total"}).
"""

import importlib
import json
import os
import sys
import time

CHUNK = 100_000  # rows per statement: each INSERT is its own short transaction
# The body's trigram index (migration 0008) is dropped while this many rows or more go in, and
# built again after: one build is several times faster than a million GIN insertions.
REBUILD_FROM = 100_000
_SEARCH_MIGRATION = "messaging.migrations.0008_message_search"

# Words the bodies are made of (a search for one finds about 1 in len(WORDS) messages).
WORDS = [
    "parcel",
    "depot",
    "invoice",
    "receipt",
    "booking",
    "dentist",
    "reminder",
    "delivery",
    "courier",
    "pharmacy",
    "appointment",
    "table",
    "flight",
    "boarding",
    "gate",
    "refund",
    "voucher",
    "loyalty",
    "points",
    "balance",
    "password",
    "code",
    "login",
    "account",
    "renewal",
    "policy",
    "claim",
    "payment",
    "overdue",
    "statement",
    "shipment",
    "return",
    "pickup",
    "locker",
    "storage",
    "laundry",
    "cleaning",
    "haircut",
    "salon",
    "garage",
    "tyres",
    "service",
    "inspection",
    "school",
    "meeting",
    "concert",
    "ticket",
    "parking",
    "permit",
    "library",
]
ERROR_CODES = ("unknown_number", "unreachable_handset", "unknown_delivery_error")

_INSERT_SQL = """
INSERT INTO messaging_message (
    id, workspace_id, test, direction, status, to_number, from_number, body, category,
    segments, encoding, price, currency, reserved, settled_at, campaign_id, provider,
    provider_message_id, error, metadata, send_at, due_at, attempts, claimed_at, review,
    system_reply, created_at, updated_at)
SELECT
    'msg_' || substr(md5(%(seed)s || ':' || g.i), 1, 26),
    %(workspace)s, false,
    CASE WHEN g.i %% 20 = 0 THEN 'inbound' ELSE 'outbound' END,
    CASE WHEN g.i %% 20 = 0 THEN 'received'
         WHEN g.i %% 100 < 80 THEN 'delivered'
         WHEN g.i %% 100 < 90 THEN 'sent'
         WHEN g.i %% 100 < 95 THEN 'undelivered'
         ELSE 'failed' END,
    CASE WHEN g.i %% 20 = 0 THEN %(sender)s ELSE {handset} END,
    CASE WHEN g.i %% 20 = 0 THEN {handset} ELSE %(sender)s END,
    'Hello, your ' || (%(words)s::text[])[1 + g.i %% %(nwords)s] || ' number ' || g.i
        || ' is ready. Reply STOP to opt out.',
    'transactional', 1, 'GSM-7', 0.0079, 'USD', 0, now(), '', 'simulator',
    NULL,
    CASE WHEN g.i %% 20 <> 0 AND g.i %% 100 >= 90 THEN jsonb_build_object(
        'code', (%(errors)s::text[])[1 + g.i %% %(nerrors)s],
        'message', 'The carrier could not deliver it.') END,
    '{}'::jsonb, NULL, NULL, 1, NULL, '', false,
    now() - (g.i * %(spread)s) * interval '1 second',
    now()
FROM generate_series(%(start)s, %(stop)s) AS g(i)
""".replace(
    "{handset}", "'+1212' || lpad((2000000 + g.i %% 7000000)::text, 7, '0')"
)  # 7 M valid handsets


def _workspace_and_sender(workspace):
    """(workspace id, the number its messages go out from)."""
    from workspaces.models import Sender, Workspace

    if not isinstance(workspace, Workspace):
        workspace = Workspace.objects.get(pk=workspace)
    sender = workspace.default_sender or (
        Sender.objects.for_workspace(workspace).values_list("number", flat=True).first()
    )
    return workspace.pk, sender or "+12125550100"


def million_messages(workspace, n: int = 1_000_000) -> int:
    """Top the workspace's live messages up to `n`; the rows inserted (then ANALYZE)."""
    from django.db import connection, transaction

    from messaging.models import Message

    if connection.vendor != "postgresql":
        raise RuntimeError("million_messages needs PostgreSQL (generate_series)")
    workspace_id, sender = _workspace_and_sender(workspace)
    have = Message.objects.filter(workspace_id=workspace_id, test=False).count()
    spread = 30 * 86400 / max(n, 1)  # seconds between rows: n rows over 30 days
    inserted, start = 0, have + 1
    trigram = importlib.import_module(_SEARCH_MIGRATION)
    rebuild = n - have >= REBUILD_FROM
    if rebuild:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {trigram.TRGM_INDEX}")
    while start <= n:
        stop = min(n, start + CHUNK - 1)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _INSERT_SQL,
                {
                    "seed": f"{workspace_id}:{time.time_ns()}",
                    "workspace": workspace_id,
                    "sender": sender,
                    "words": list(WORDS),
                    "nwords": len(WORDS),
                    "errors": list(ERROR_CODES),
                    "nerrors": len(ERROR_CODES),
                    "spread": spread,
                    "start": start,
                    "stop": stop,
                },
            )
            inserted += cursor.rowcount
        start = stop + 1
    with connection.cursor() as cursor:
        if rebuild:
            cursor.execute(trigram.TRGM_SQL)
        cursor.execute("VACUUM ANALYZE messaging_message")  # as autovacuum would, soon after
    return inserted


def main(argv: list[str]) -> None:
    """`python -m bench.million <workspace_id> <n>`: top up, print what it did as JSON."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    started = time.perf_counter()
    inserted = million_messages(argv[0], int(argv[1]))
    seconds = round(time.perf_counter() - started, 1)
    print(json.dumps({"inserted": inserted, "seconds": seconds, "total": int(argv[1])}))


if __name__ == "__main__":
    main(sys.argv[1:])
