"""The fan-out measurement (`python -m bench.campaign_run fanout TAG`): campaign_launch to
100,000 contacts against a plain COPY of the same rows."""

import json
import os
import time

import psycopg

from .campaign_world import (
    BODY,
    analyze,
    audience,
    campaign_new,
    launch,
    phones,
    retire,
    short_code,
    workspace_new,
)

FANOUT_CONTACTS = 100_000


def copy_rows(workspace, sender, numbers: list[str]) -> tuple[list, list]:
    """The message and event rows campaign_launch writes for these numbers (same columns)."""
    from campaigns.messages import MESSAGE_COLUMNS
    from messaging.pricing import rate_for
    from workspaces import clock
    from workspaces.ids import new_id

    campaign_id, now = new_id("cmp"), clock.now()
    price = rate_for(workspace=workspace, country="US")
    queued = json.dumps({"campaign": campaign_id})
    messages, events = [], []
    for phone in numbers:
        mid = new_id("msg")
        body = BODY.replace("{{first_name}}", "Ann")
        messages.append(
            (
                mid,
                workspace.pk,
                False,
                "outbound",
                "queued",
                phone,
                sender.number,
                body,
                "marketing",
                1,
                "GSM-7",
                price,
                "USD",
                price,
                campaign_id,
                "simulator",
                "{}",
                None,
                0,
                "",
                False,
                now,
                now,
            )
        )
        passed = json.dumps(
            {
                "sender": sender.number,
                "campaign": campaign_id,
                "country": "US",
                "suppression": "none active",
                "consent": {
                    "id": new_id("con"),
                    "method": "web_form",
                    "captured_at": now.isoformat(),
                },
            }
        )
        events += [
            (workspace.pk, mid, "policy_passed", now, passed),
            (workspace.pk, mid, "queued", now, queued),
        ]
    assert len(messages[0]) == len(MESSAGE_COLUMNS)
    return messages, events


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).translate(COPY_ESCAPES)


def copy_text(rows: list, batch: int = 5000) -> list[str]:
    """The rows as COPY text, in chunks of `batch` lines (all of it made before the clock)."""
    lines = ["\t".join(map(copy_field, row)) + "\n" for row in rows]
    return ["".join(lines[i : i + batch]) for i in range(0, len(lines), batch)]


def copy_seconds(messages: list, events: list) -> float:
    """Seconds for a plain COPY of the rows into messaging_message and _messageevent, and commit."""
    from campaigns.messages import EVENT_COLUMNS, MESSAGE_COLUMNS
    from messaging.models import Message, MessageEvent

    tables = [
        (Message, MESSAGE_COLUMNS, copy_text(messages)),
        (MessageEvent, EVENT_COLUMNS, copy_text(events)),
    ]
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        started = time.perf_counter()
        for model, columns, chunks in tables:
            sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with conn.cursor() as cur, cur.copy(sql) as copy:
                for chunk in chunks:
                    copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def fanout(tag: str) -> dict:
    """Launch to 100,000 contacts (1 % suppressed, 1 % without consent) vs COPY of 100,000."""
    from campaigns.models import Campaign
    from messaging.models import Message

    workspace = workspace_new(f"fanout {tag}")
    sender = short_code(workspace, 100)
    numbers = phones(FANOUT_CONTACTS)
    size = FANOUT_CONTACTS // 100
    audience(workspace, numbers, consent=numbers[:-size], suppressed=numbers[:size])
    analyze()
    campaign = campaign_new(workspace, sender)
    rows = copy_rows(workspace, sender, numbers)  # built before the clock, like launch's inputs
    baseline = copy_seconds(*rows)
    seconds = launch(campaign)
    launched = Campaign.objects.get(pk=campaign.pk)
    messages = Message.objects.filter(campaign_id=campaign.pk).count()
    retire([campaign.pk])
    return {
        "recipients": launched.recipients,
        "messages": messages,
        "skipped": launched.skipped,
        "launch_seconds": seconds,
        "copy_rows": len(rows[0]),
        "copy_events": len(rows[1]),
        "copy_seconds": baseline,
    }
