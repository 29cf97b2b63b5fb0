"""Accept a send: judge it in CONTRACT §3's order, then write it in one short transaction."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction

from workspaces import clock
from workspaces.errors import TernError
from workspaces.models import Workspace

from .. import pricing
from ..lifecycle import REQUEUE_AFTER, announce, enqueue_on_commit, hold_for_quiet_hours
from ..models import DuplicateGuard, Message, MessageEvent, Status
from ..policy import SendDraft, evaluate
from ..providers.registry import provider_name_for
from ..timeline import event_build


@dataclass
class SendInput:
    """One message as the API (or a campaign) asks for it."""

    to: str
    body: str
    from_: str | None = None
    category: str = Message.TRANSACTIONAL
    metadata: dict | None = None
    send_at: object = None
    campaign_id: str = ""
    # Who asked, recorded on `api_request_received`: the console's door and member; None for the
    # API, whose first event stays as it was.
    origin: dict | None = None


def fingerprint(*, to: str, body: str) -> str:
    """The duplicate-detection key of a (recipient, body) pair."""
    return hashlib.sha256(f"{to}\x00{body}".encode()).hexdigest()


_CLAIM_FINGERPRINT_SQL = """
INSERT INTO {table} (workspace_id, test, fingerprint, message_id, expires_at)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (workspace_id, test, fingerprint) DO UPDATE
SET message_id = excluded.message_id, expires_at = excluded.expires_at
WHERE {table}.expires_at <= %s
RETURNING id
"""


def duplicate_claim(
    *, workspace: Workspace, test: bool, to: str, body: str, message_id: str, now
) -> None:
    """Hold (mode, to, body) for the duplicate window or raise `duplicate_message`.

    One statement decides: insert the fingerprint, or take over one whose window has passed;
    no row back means another message holds it (PostgreSQL and SQLite both speak this upsert).
    """
    window = workspace.duplicate_window_seconds
    if not window:
        return
    key, expires = fingerprint(to=to, body=body), now + timedelta(seconds=window)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_FINGERPRINT_SQL.format(table=DuplicateGuard._meta.db_table),
            [workspace.pk, test, key, message_id, adapt(expires), adapt(now)],
        )
        claimed = cursor.fetchone()
    if claimed is None:
        raise TernError("duplicate_message", details={"to": to, "window_seconds": window})


def new_message(draft: SendDraft, data: SendInput, *, price, provider: str, now) -> Message:
    """The unsaved row of an accepted send: queued, or scheduled for its `send_at`."""
    scheduled = data.send_at is not None and data.send_at > now
    return Message(
        workspace=draft.workspace,
        test=draft.test,
        direction=Message.OUTBOUND,
        status=Status.SCHEDULED if scheduled else Status.QUEUED,
        to_number=draft.to,
        from_number=draft.from_,
        body=data.body,
        category=data.category,
        segments=draft.encoded.segments,
        encoding=draft.encoded.encoding,
        price=price,
        reserved=price,
        campaign_id=data.campaign_id,
        provider=provider,
        metadata=data.metadata or {},
        send_at=data.send_at,
        due_at=data.send_at if scheduled else now + REQUEUE_AFTER,
        created_at=now,
    )


def accept_events(message: Message, draft: SendDraft, received_at, origin=None) -> list:
    """The first timeline events of an accepted send (unsaved); `origin` details the first."""
    events = [
        event_build(message, "api_request_received", origin, at=received_at),
        event_build(
            message,
            "policy_passed",
            {"sender": draft.from_, "country": draft.country, **draft.relied_on},
        ),
    ]
    if message.status == Status.SCHEDULED:
        events.append(event_build(message, "scheduled", {"send_at": message.send_at}))
    else:
        events.append(event_build(message, "queued"))
    return events


def judge(*, workspace: Workspace, test: bool, data: SendInput, lookups=None) -> SendDraft:
    """Run the lock-free policy checks on a send (raises its first failure)."""
    return evaluate(
        SendDraft(
            workspace=workspace,
            test=test,
            to=data.to,
            from_=data.from_,
            body=data.body,
            category=data.category,
            campaign_id=data.campaign_id,
            lookups=lookups,
        )
    )


def message_send(*, workspace: Workspace, test: bool, data: SendInput, received_at=None) -> Message:
    """Judge a send in CONTRACT §3's order; accept it in one short transaction, or raise."""
    draft = judge(workspace=workspace, test=test, data=data)
    now = clock.now()
    price = pricing.price_for(
        workspace=workspace, country=draft.country, segments=draft.encoded.segments, test=test
    )
    provider = provider_name_for(workspace, test=test)
    with transaction.atomic():
        message = new_message(draft, data, price=price, provider=provider, now=now)
        duplicate_claim(
            workspace=workspace,
            test=test,
            to=draft.to,
            body=data.body,
            message_id=message.id,
            now=now,
        )
        message.save(force_insert=True)
        message.timeline_cache = accept_events(message, draft, received_at or now, data.origin)
        MessageEvent.objects.bulk_create(message.timeline_cache)
        # Last, so the workspace's hot spend row stays locked only until the commit right after.
        if not pricing.spend_reserve(workspace=workspace, amount=price):
            raise TernError(
                "spend_limit_exceeded",
                details={"price": str(price), "spend_limit": str(workspace.spend_limit)},
            )
        if message.status == Status.QUEUED:
            announce(message, "queued")
            if not hold_for_quiet_hours(message):
                enqueue_on_commit(message)
    return message
