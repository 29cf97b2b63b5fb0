"""Every write of the send path: accept, cancel, dispatch, provider reports, inbound, sweeps."""

import hashlib
import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from compliance.keywords import keyword_apply, keyword_of
from compliance.quiet_hours import quiet_hours_hold
from compliance.services import suppression_create
from webhooks.events import emit, emit_many
from workspaces import clock
from workspaces.audit import Actor
from workspaces.enqueue import publish_on_commit
from workspaces.errors import (
    CLASS_REVIEW,
    CLASS_SUPPRESS,
    TernError,
    delivery_error,
    delivery_error_for,
    spec,
)
from workspaces.locks import phone_lock
from workspaces.models import Sender, Workspace
from workspaces.phones import country_of
from workspaces.selectors import month_start

from . import pacing, pending_reports, pricing, recovery, sending
from .campaign_messages import HOLD, campaign_gate, campaign_message_wait
from .encoding import encode_body
from .hooks import INBOUND_HANDLERS, TIMEZONE_LOOKUPS
from .models import FINAL_STATUSES, STATUS_RANK, DuplicateGuard, Message, MessageEvent, Status
from .policy import SendDraft, evaluate
from .providers.base import (
    InboundSMS,
    OutboundSMS,
    RejectedSubmission,
    StatusReport,
    SubmissionOutcomeUnknown,
    TransientSubmissionError,
)
from .providers.registry import get_provider, provider_name_for
from .resources import message_event_data
from .timeline import event_add, event_add_once, event_build

logger = logging.getLogger("tern.messaging")

# Submission retries after about 5 s, 30 s, 2 min, 10 min and 1 h (CONTRACT §5).
RETRY_DELAYS = (5, 30, 120, 600, 3600)
# A queued message not claimed by then is re-enqueued by the sweeper.
REQUEUE_AFTER = timedelta(seconds=90)
# A message `sending` for longer was caught mid-call by a crash: reconcile it.
STUCK_SENDING_AFTER = timedelta(minutes=2)
SETTLE_AFTER = timedelta(hours=72)
COUNTDOWN_LIMIT = 60  # longer waits are due-time rows, swept by beat


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


def _new_message(draft: SendDraft, data: SendInput, *, price, provider: str, now) -> Message:
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


def _accept_events(message: Message, draft: SendDraft, received_at) -> list:
    events = [
        event_build(message, "api_request_received", at=received_at),
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
        message = _new_message(draft, data, price=price, provider=provider, now=now)
        duplicate_claim(
            workspace=workspace,
            test=test,
            to=draft.to,
            body=data.body,
            message_id=message.id,
            now=now,
        )
        message.save(force_insert=True)
        message.timeline_cache = _accept_events(message, draft, received_at or now)
        MessageEvent.objects.bulk_create(message.timeline_cache)
        # Last, so the workspace's hot spend row stays locked only until the commit right after.
        if not pricing.spend_reserve(workspace=workspace, amount=price):
            raise TernError(
                "spend_limit_exceeded",
                details={"price": str(price), "spend_limit": str(workspace.spend_limit)},
            )
        if message.status == Status.QUEUED:
            announce(message, "queued")
            if not _hold_for_quiet_hours(message):
                _enqueue_on_commit(message)
    return message


def recipient_timezone(*, workspace_id: str, phone: str) -> str | None:
    """The recipient's own time zone, when an app above knows it."""
    for lookup in TIMEZONE_LOOKUPS:
        zone = lookup(workspace_id, phone)
        if zone:
            return zone
    return None


def _hold_for_quiet_hours(message: Message) -> bool:
    """Marketing outside the recipient's window waits for it: still queued, due when it opens."""
    if message.category != Message.MARKETING or message.system_reply:
        return False
    zone = recipient_timezone(workspace_id=message.workspace_id, phone=message.to_number)
    hold = quiet_hours_hold(phone=message.to_number, now=clock.now(), contact_tz=zone)
    if hold is None:
        return False
    Message.objects.filter(pk=message.pk).update(due_at=hold.until)
    message.due_at = hold.until
    detail = {"rule": hold.rule, "until": hold.until, "zones": list(hold.zones)}
    held = event_add(message, "held_quiet_hours", detail)
    if hasattr(message, "timeline_cache"):  # the API answer shows the hold at once
        message.timeline_cache.append(held)
    return True


def announce(message: Message, status: str) -> None:
    """Emit `message.<status>` in the current transaction, for the workspace's webhooks."""
    emit(workspace_id=message.workspace_id, test=message.test, type=f"message.{status}",
         data=message_event_data(message))  # fmt: skip


def announce_many(messages: list[Message], status: str) -> None:
    """`announce` for a batch of one workspace and mode."""
    queued = [m for m in messages if m.status == status]
    if queued:
        first = queued[0]
        emit_many(workspace_id=first.workspace_id, test=first.test, type=f"message.{status}",
                  items=[message_event_data(m) for m in queued])  # fmt: skip


ANNOUNCED_FINAL = {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED}


def _queue_for(message: Message) -> str:
    """Campaign traffic has its own queue, so a broadcast never starves transactional sends."""
    return "bulk" if message.campaign_id else "transactional"


def _enqueue_on_commit(message: Message, countdown: float | None = None) -> None:
    from .tasks import dispatch_message

    queue = _queue_for(message)
    publish_on_commit(dispatch_message, (message.id,), queue=queue, countdown=countdown)


FANOUT_CHUNK = 100


def enqueue_many_on_commit(messages: list[Message]) -> None:
    """After commit, hand the worker a few fan-out tasks instead of one publish per message.

    A lost fan-out task is healed like any lost task: the sweeper re-enqueues queued messages.
    """
    from .tasks import dispatch_fanout

    queued = [m for m in messages if m.status == Status.QUEUED]
    for start in range(0, len(queued), FANOUT_CHUNK):
        chunk = queued[start : start + FANOUT_CHUNK]
        ids, queue = [m.id for m in chunk], _queue_for(chunk[0])
        publish_on_commit(dispatch_fanout, (ids, queue), queue=queue)


def dispatch_paced(*, message_id: str) -> None:
    """Book the message's slot on its sender: send now when it has come, else at the slot.

    Sends of the API go ahead of broadcast slots already booked (`pacing.TRANSACTIONAL_LEAD`).
    """
    row = Message.objects.filter(pk=message_id, status=Status.QUEUED)
    row = row.values("from_number", "campaign_id").first()
    if row is None:
        return
    booking = pacing.book(sender=row["from_number"], count=1,
                          transactional=not row["campaign_id"])  # fmt: skip
    wait = booking.start - time.time()
    if wait <= SLOT_SLACK:
        message_dispatch(message_id=message_id)
        return
    if wait > REQUEUE_AFTER.total_seconds() / 2:
        # A long backlog on the sender: keep the sweeper from taking this one for lost.
        due = datetime.fromtimestamp(booking.start, tz=UTC) + REQUEUE_AFTER
        Message.objects.filter(pk=message_id, status=Status.QUEUED).update(due_at=due)
    sending.scheduler().at(booking.start, message_id)


# A slot this close is sent at once rather than handed to the scheduler thread.
SLOT_SLACK = 0.005


def dispatch_fanout(*, message_ids: list[str], queue: str) -> None:
    """On the worker: book each sender's slots for a batch and send each message at its slot."""
    rows = Message.objects.filter(pk__in=message_ids, status=Status.QUEUED)
    by_sender: dict[str, list[str]] = {}
    for message_id, sender in rows.order_by("id").values_list("id", "from_number"):
        by_sender.setdefault(sender, []).append(message_id)
    for sender, ids in by_sender.items():
        booking = pacing.book(sender=sender, count=len(ids), transactional=queue != "bulk")
        _due_after(ids, booking)
        dispatch_booked(message_ids=ids, start=booking.start, step=booking.step)


def _due_after(message_ids: list[str], booking: pacing.Booking) -> None:
    """Until their last slot has passed, the sweeper must not take booked messages for lost."""
    due = datetime.fromtimestamp(booking.end, tz=UTC) + REQUEUE_AFTER
    Message.objects.filter(pk__in=message_ids, status=Status.QUEUED).update(due_at=due)


def dispatch_booked(*, message_ids: list[str], start: float, step: float) -> None:
    """Send booked messages at their slots (`start`, then every `step` seconds), on the pool."""
    pool = sending.scheduler()
    for index, message_id in enumerate(message_ids):
        pool.at(start + index * step, message_id)


def campaign_window_book(
    *, campaign_id: str, sender: str, seconds: float, campaign_rate: float | None
) -> pacing.Booking | None:
    """Book the next `seconds` of a campaign's queued, unbooked messages; enqueue them in chunks.

    Unbooked campaign messages are queued with no due time. Booking sets one, so a lost chunk
    is found by the sweeper, which hands it back here (due time cleared) instead of sending it.
    """
    from .tasks import dispatch_booked as dispatch_booked_task

    if campaign_gate(campaign_id=campaign_id):  # paused since the pump looked: book no slots
        return None
    rate = min(pacing.sender_rate(sender), campaign_rate or float("inf"))
    size = max(1, math.ceil(rate * seconds))
    with transaction.atomic():
        unbooked = Message.objects.filter(campaign_id=campaign_id, status=Status.QUEUED,
                                          due_at=None).order_by("id")  # fmt: skip
        ids = list(unbooked.select_for_update(skip_locked=True).values_list("id", flat=True)[:size])
        if not ids:
            return None
        # The first slot after the chunk can reach a worker: a slot already past when its
        # message arrives would go at once, bunched with the next ones.
        booking = pacing.book(sender=sender, count=len(ids), campaign_id=campaign_id,
                              campaign_rate=campaign_rate, not_before=CHUNK_LEAD)  # fmt: skip
        _due_after(ids, booking)
        for first in range(0, len(ids), BOOKED_CHUNK):
            chunk, chunk_start = ids[first : first + BOOKED_CHUNK], booking.slot(first)
            countdown = max(0.0, chunk_start - time.time() - CHUNK_LEAD)
            publish_on_commit(dispatch_booked_task, (chunk, chunk_start, booking.step),
                              queue="bulk", countdown=countdown or None)  # fmt: skip
    return booking


# Booked campaign messages reach the worker this many at a time, a little before their slots.
BOOKED_CHUNK = 200
CHUNK_LEAD = 1.0


def message_cancel(*, message: Message) -> Message:
    """Cancel a scheduled message, or a queued one no worker has claimed; else `invalid_state`."""
    with transaction.atomic():
        cancelable = Message.objects.filter(
            pk=message.pk, status__in=[Status.SCHEDULED, Status.QUEUED]
        )
        locked = cancelable.select_for_update().first()
        if locked is None:
            raise TernError(
                "invalid_state",
                f"A {message.status} message cannot be canceled.",
                details={"status": Message.objects.get(pk=message.pk).status},
            )
        _finish(locked, Status.CANCELED, reached_provider=False)
        event_add(locked, "canceled")
    return locked


def _finish(
    message: Message,
    status: str,
    *,
    reached_provider: bool,
    error: dict | None = None,
    extra_fields: tuple = (),
) -> None:
    """Move a message to a final status, settling its spend, and save."""
    message.status, message.due_at = status, None
    if error is not None:
        message.error = error
    pricing.settle(message, status=status, reached_provider=reached_provider)
    message.save(
        update_fields=[
            "status",
            "due_at",
            "error",
            "reserved",
            "settled_at",
            "updated_at",
            *extra_fields,
        ]
    )
    if status in ANNOUNCED_FINAL:
        announce(message, status)


# --- Dispatch (on the worker) -------------------------------------------------------------------


def message_claim(*, message_id: str) -> Message | None:
    """Under the (workspace, phone) lock, re-check suppression and claim queued → sending.

    Every path that submits a message ends here, so a paused campaign's messages are held here.
    """
    from compliance.selectors import is_workspace_suppressed

    with transaction.atomic():
        message = Message.objects.filter(pk=message_id).select_related("workspace").first()
        if message is None or message.status != Status.QUEUED:
            return None
        gate = message.campaign_id and campaign_gate(campaign_id=message.campaign_id, lock=True)
        if gate == HOLD:
            campaign_message_wait(message)
            return None
        if gate:  # the campaign was stopped
            _block_suppressed(message, code="stopped_by_user", status=Status.CANCELED)
            return None
        phone_lock(workspace_id=message.workspace_id, phone=message.to_number)
        if not message.system_reply and is_workspace_suppressed(
            workspace_id=message.workspace_id, phone=message.to_number
        ):
            _block_suppressed(message)
            return None
        if message.campaign_id and _campaign_suppressed(message):
            _block_suppressed(message, code="campaign_suppressed")
            return None
        if _hold_for_quiet_hours(message):  # re-checked at the claim
            return None
        now = clock.now()
        claimed = Message.objects.filter(pk=message_id, status=Status.QUEUED).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
        )
        if not claimed:
            return None
    message.refresh_from_db()
    return message


def _campaign_suppressed(message: Message) -> bool:
    """The recipient opted out of this campaign after its messages were written (e.g. during a
    pause): none of them may go out."""
    from compliance.selectors import is_campaign_suppressed

    return is_campaign_suppressed(workspace_id=message.workspace_id, phone=message.to_number,
                                  campaign_id=message.campaign_id)  # fmt: skip


def _block_suppressed(
    message: Message, code: str = "workspace_suppressed", status: str = Status.FAILED
) -> None:
    """A STOP (or opt-out, or a campaign's stop) that committed before the claim wins: the
    message ends unsent, free of charge."""
    error = delivery_error(code)
    _finish(
        Message.objects.select_for_update().get(pk=message.pk),
        status,
        reached_provider=False,
        error=error,
    )
    event_add(message, status, {"code": code, "at_claim": True})


def message_dispatch(*, message_id: str) -> None:
    """Claim, submit to the provider, and record what came of it."""
    message = message_claim(message_id=message_id)
    if message is None:
        return
    provider = get_provider(message.provider)
    sms = OutboundSMS(
        message_id=message.id,
        to=message.to_number,
        from_=message.from_number,
        body=message.body,
        status_callback_url=status_callback_url(message.provider),
    )
    try:
        accepted = provider.send(sms)
    except TransientSubmissionError as exc:
        submission_failed(message=message, exc=exc)
    except RejectedSubmission as exc:  # final: a refusal is never resent by Tern
        delivery_failed(
            message=message,
            status=Status.FAILED,
            provider_code=exc.provider_code,
            reached_provider=False,
            code=delivery_error_for(exc.provider_code, refused=True).code,
            detail={"provider_message": str(exc)},
        )
    except SubmissionOutcomeUnknown:
        reconcile(message=message)
    else:
        mark_sent(message=message, provider_message_id=accepted.provider_message_id)


def status_callback_url(provider: str) -> str:
    """Where the provider should report statuses (PUBLIC_BASE_URL + the provider's hook)."""
    if provider == "simulator":
        return ""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/hooks/{provider}/status"


def mark_sent(*, message: Message, provider_message_id: str, reconciled: bool = False) -> None:
    """The provider took the message: `sent`, with the carrier's id."""
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.SENT,
            provider_message_id=provider_message_id,
            due_at=None,
            updated_at=clock.now(),
        )
        if updated:
            event_add(
                message,
                "sent_to_carrier",
                {
                    "provider": message.provider,
                    "provider_message_id": provider_message_id,
                    **({"reconciled": True} if reconciled else {}),
                },
            )
            message.status, message.provider_message_id = Status.SENT, provider_message_id
            announce(message, "sent")
    # After the id's commit: a report that came first is applied now (CONTRACT §5).
    pending_reports.reports_apply_for(provider=message.provider,
                                      provider_message_id=provider_message_id)  # fmt: skip


def retry_delay(attempt: int, retry_after: float | None) -> float | None:
    """Seconds before submission attempt `attempt + 1`, jittered ±20 %; None when out of tries."""
    if attempt > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[attempt - 1]
    delay = base * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0)


def submission_failed(*, message: Message, exc: TransientSubmissionError) -> None:
    """Back to `queued` with the next attempt's time, or `failed` after the last retry."""
    delay = retry_delay(message.attempts, exc.retry_after)
    if delay is None:
        delivery_failed(
            message=message,
            status=Status.FAILED,
            provider_code=exc.provider_code,
            reached_provider=False,
            code="provider_unavailable",
            detail={"attempts": message.attempts},
        )
        return
    now = clock.now()
    next_at = now + timedelta(seconds=delay)
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.QUEUED,
            due_at=next_at + (REQUEUE_AFTER if delay < COUNTDOWN_LIMIT else timedelta(0)),
            updated_at=now,
        )
        if not updated:
            return
        event_add(
            message,
            "retry_scheduled",
            {
                "attempt": message.attempts,
                "next_attempt_at": next_at,
                "provider_code": exc.provider_code,
                "reason": str(exc),
            },
        )
        if delay < COUNTDOWN_LIMIT:
            _enqueue_on_commit(message, countdown=delay)


def delivery_failed(
    *,
    message: Message,
    status: str,
    provider_code: str | None,
    reached_provider: bool,
    code: str | None = None,
    detail: dict | None = None,
) -> None:
    """Record a delivery failure with its catalogue code, and act on its class."""
    entry = spec(code) if code else delivery_error_for(provider_code)
    error = delivery_error(entry.code, provider_code)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.status in FINAL_STATUSES:
            return
        locked.review = Message.REVIEW_PENDING if entry.delivery_class == CLASS_REVIEW else ""
        _finish(
            locked, status, reached_provider=reached_provider, error=error, extra_fields=("review",)
        )
        event_add(
            locked, status, {"code": entry.code, "provider_code": provider_code, **(detail or {})}
        )
        if entry.delivery_class == CLASS_SUPPRESS and not locked.test:
            _carrier_suppress(locked, entry.code)
        if locked.review:
            event_add(locked, "review_opened", {"code": entry.code})


def _carrier_suppress(message: Message, code: str) -> None:
    suppression, created = suppression_create(
        workspace_id=message.workspace_id,
        phone=message.to_number,
        source="carrier",
        actor=Actor.system("carrier report"),
        reason=f"{code} on {message.id}",
    )
    if created:
        event_add(message, "suppressed", {"suppression": suppression.id, "code": code})


def reconcile(*, message: Message) -> None:
    """A send caught mid-call: ask the provider; never resend blindly."""
    result = get_provider(message.provider).lookup(message.id)
    if result is not None and result.found:
        mark_sent(message=message, provider_message_id=result.provider_message_id, reconciled=True)
    elif result is not None:
        # The provider is sure it never took the message: it is safe to queue again.
        with transaction.atomic():
            if Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
                status=Status.QUEUED, due_at=clock.now(), updated_at=clock.now()
            ):
                event_add(message, "reconciled", {"found": False, "requeued": True})
                _enqueue_on_commit(message)
    else:
        delivery_failed(
            message=message,
            status=Status.FAILED,
            provider_code=None,
            reached_provider=True,
            code="unknown_outcome",
        )


# --- Provider reports and inbound ---------------------------------------------------------------

REPORTED_STATUSES = {Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED}


def status_report_apply(*, report: StatusReport) -> Message | None:
    """Apply a provider's status report: deduplicated, never moving a status backwards.

    One transaction under the message's row lock: the check, the timeline event and the change.
    """
    if report.status not in REPORTED_STATUSES:
        return None
    same = Message.objects.filter(
        provider=report.provider, provider_message_id=report.provider_message_id
    )
    with transaction.atomic():
        message = same.select_for_update().first()
        if message is None:  # may be faster than the commit of its id: kept until then
            pending_reports.report_keep(report)
            return None
        if report.status == message.status:
            return message  # e.g. the provider's own `sent` after acceptance: nothing new
        if STATUS_RANK[report.status] <= STATUS_RANK[message.status]:
            event_add_once(
                message,
                "out_of_order_status_ignored",
                f"late:{report.status}",
                {"reported": report.status, "current": message.status},
            )
            return message
        if not event_add_once(
            message,
            report.status,
            f"report:{report.status}",
            {"provider_code": report.error_code} if report.error_code else {},
        ):
            return message
        if report.status in (Status.UNDELIVERED, Status.FAILED):
            _report_failure(message, report)
        else:
            _report_progress(message, report.status)
    return message


def _report_progress(locked: Message, status: str) -> None:
    """`sent` or `delivered`, on the locked message."""
    if status == Status.DELIVERED:
        _finish(locked, status, reached_provider=True)
    else:
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        announce(locked, status)


def _report_failure(locked: Message, report: StatusReport) -> None:
    """`undelivered` or `failed` with its catalogue error, on the locked message."""
    entry = delivery_error_for(report.error_code)
    error = delivery_error(entry.code, report.error_code)
    locked.review = Message.REVIEW_PENDING if entry.delivery_class == CLASS_REVIEW else ""
    _finish(locked, report.status, reached_provider=True, error=error, extra_fields=("review",))
    if entry.delivery_class == CLASS_SUPPRESS and not locked.test:
        _carrier_suppress(locked, entry.code)
    if locked.review:
        event_add(locked, "review_opened", {"code": entry.code})


def inbound_receive(*, sms: InboundSMS) -> Message | None:
    """Store a handset's message in the workspace owning the sender it was sent to."""
    sender = Sender.objects.filter(number=sms.to, removed_at=None).first()
    if sender is None:
        logger.info("inbound to unknown number %s ignored", sms.to)
        return None
    existing = Message.objects.filter(
        provider=sms.provider, provider_message_id=sms.provider_message_id
    ).first()
    if existing is not None:  # providers re-post an inbound whose first answer failed or was slow
        return existing
    now = clock.now()
    with transaction.atomic():
        message = Message.objects.create(
            workspace_id=sender.workspace_id,
            test=False,
            direction=Message.INBOUND,
            status=Status.RECEIVED,
            to_number=sms.to,
            from_number=sms.from_,
            body=sms.body,
            provider=sms.provider,
            provider_message_id=sms.provider_message_id or None,
            segments=0,
            price=0,
            reserved=0,
            settled_at=now,
            created_at=now,
        )
        event_add(message, "received", {"provider": sms.provider})
        announce(message, "received")
        kind = keyword_of(sms.body)
        if not kind:
            for handler in INBOUND_HANDLERS:  # e.g. a campaign's own opt-out words
                if handler(message, sender.workspace):
                    event_add(message, "handled", {"by": handler.__name__})
                    break
        if kind:
            reply = keyword_apply(workspace=sender.workspace, phone=sms.from_, kind=kind,
                                  inbound_id=message.id)  # fmt: skip
            event_add(message, "keyword", {"keyword": kind})
            keyword_reply_send(inbound=message, workspace=sender.workspace, body=reply, kind=kind)
    return message


def keyword_reply_send(*, inbound: Message, workspace: Workspace, body: str, kind: str) -> Message:
    """Tern's one reply to a keyword: queued at once, outside suppressions, quiet hours and the
    spend limit (its price is still charged)."""
    now = clock.now()
    encoded = encode_body(body)
    country = country_of(inbound.from_number) or workspace.default_country
    price = pricing.price_for(workspace=workspace, country=country, segments=encoded.segments,
                              test=False)  # fmt: skip
    reply = Message.objects.create(
        workspace=workspace, test=False, direction=Message.OUTBOUND, status=Status.QUEUED,
        to_number=inbound.from_number, from_number=inbound.to_number, body=body,
        segments=encoded.segments, encoding=encoded.encoding, price=price, reserved=price,
        provider=provider_name_for(workspace, test=False), system_reply=True,
        metadata={"reply_to": inbound.id, "keyword": kind}, due_at=now + REQUEUE_AFTER,
        created_at=now,
    )  # fmt: skip
    pricing.spend_adjust(workspace_id=workspace.pk, month=month_start(now), delta=price)
    event_add(reply, "queued", {"reply_to": inbound.id, "keyword": kind})
    event_add(inbound, "keyword_reply_queued", {"reply": reply.id})
    announce(reply, "queued")
    _enqueue_on_commit(reply)
    return reply


# --- Sweeps (beat) ------------------------------------------------------------------------------


def sweep_due(*, limit: int = 500) -> int:
    """Release scheduled messages whose time came, and re-enqueue queued ones left behind."""
    now = clock.now()
    released = []
    for message in Message.objects.filter(status=Status.SCHEDULED, due_at__lte=now)[:limit]:
        with transaction.atomic():
            if Message.objects.filter(pk=message.pk, status=Status.SCHEDULED).update(
                status=Status.QUEUED, due_at=now + REQUEUE_AFTER, updated_at=now
            ):
                event_add(message, "queued", {"from_schedule": True})
                message.status = Status.QUEUED
                announce(message, "queued")
                released.append(message)
    enqueue_many_on_commit(released)  # in fan-out tasks, as a batch is
    # A campaign message that is due again (lost on the way, or its quiet hours are over) goes
    # back to its campaign's pump, which books it a slot, rather than being sent out of pace.
    Message.objects.filter(status=Status.QUEUED, due_at__lte=now).exclude(campaign_id="").update(
        due_at=None
    )
    return len(released) + recovery.requeue_expired(now=now, lease=REQUEUE_AFTER)


def sweep_stuck_sending(*, limit: int = 1000) -> int:
    """Reconcile messages a crash left `sending` (through the provider's lookup)."""
    cutoff = clock.now() - STUCK_SENDING_AFTER
    stuck = list(Message.objects.filter(status=Status.SENDING, claimed_at__lte=cutoff)[:limit])
    for message in stuck:
        reconcile(message=message)
    return len(stuck)


def sweep_settle_overdue(*, limit: int = 1000) -> int:
    """Messages with no final report 72 h after sending settle at full price."""
    cutoff = clock.now() - SETTLE_AFTER
    overdue = Message.objects.filter(status=Status.SENT, settled_at=None, created_at__lte=cutoff)
    count = 0
    for message in overdue[:limit]:
        with transaction.atomic():
            locked = Message.objects.select_for_update().get(pk=message.pk)
            if locked.settled_at is None:
                pricing.settle(locked, status=Status.SENT, reached_provider=True)
                locked.save(update_fields=["reserved", "settled_at", "updated_at"])
                count += 1
    return count


def simulator_report_apply(
    *, status: str, provider_message_id: str, error_code: str | None
) -> None:
    """Apply one of the simulator's reports; its final one is then marked as delivered."""
    from .providers.simulator.provider import mark_reported

    report = StatusReport(provider="simulator", status=status, error_code=error_code,
                          provider_message_id=provider_message_id)  # fmt: skip
    with transaction.atomic():  # the report and the ledger's note of it: one commit
        status_report_apply(report=report)
        if status != Status.SENT:
            mark_reported(provider_message_id)


def simulator_reports_apply(
    *, status: str, provider_message_id: str, error_code: str | None
) -> None:
    """The simulator's `sent` report and then its final one, as a provider posts them in turn."""
    if status != Status.SENT:
        simulator_report_apply(status=Status.SENT, provider_message_id=provider_message_id,
                               error_code=None)  # fmt: skip
    simulator_report_apply(status=status, provider_message_id=provider_message_id,
                           error_code=error_code)  # fmt: skip


def sweep_simulator_reports() -> int:
    """Send again the simulator's final reports whose task was lost with a killed worker."""
    from .providers.simulator.provider import overdue_reports

    overdue = overdue_reports()
    for sid, status, code in overdue:
        simulator_report_apply(status=status, provider_message_id=sid, error_code=code)
    return len(overdue)
