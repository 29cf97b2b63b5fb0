"""Dispatch, on the worker: pace, claim, submit to the provider and record what came of it.

Every path that submits a message ends in `message_claim`, under the (workspace, phone) lock.
"""

import random
import time
from datetime import UTC, datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F

from compliance.selectors import is_campaign_suppressed, is_workspace_suppressed
from workspaces import clock
from workspaces.errors import TernError, delivery_error, delivery_error_for
from workspaces.locks import phone_lock

from .. import pacing, sending
from ..hooks import HOLD, campaign_gate
from ..lifecycle import (
    COUNTDOWN_LIMIT,
    REQUEUE_AFTER,
    announce,
    campaign_message_wait,
    due_after,
    enqueue_on_commit,
    finish,
    hold_for_quiet_hours,
)
from ..models import Message, Status
from ..providers.base import (
    OutboundSMS,
    RejectedSubmission,
    SubmissionOutcomeUnknown,
    TransientSubmissionError,
)
from ..providers.registry import get_provider
from ..timeline import event_add
from .reports import delivery_failed, reports_apply_for

# Submission retries after about 5 s, 30 s, 2 min, 10 min and 1 h (CONTRACT §5).
RETRY_DELAYS = (5, 30, 120, 600, 3600)
# A slot this close is sent at once rather than handed to the scheduler thread.
SLOT_SLACK = 0.005


def dispatch_paced(*, message_id: str) -> None:
    """Book the message's slot on its sender: send now when it has come, else at the slot.

    Sends of the API go ahead of broadcast slots already booked (`pacing.TRANSACTIONAL_LEAD`).
    """
    row = Message.objects.filter(pk=message_id, status=Status.QUEUED)
    row = row.values("from_number", "campaign_id").first()
    if row is None:
        return
    booking = pacing.book(sender=row["from_number"], count=1, transactional=not row["campaign_id"])
    wait = booking.start - time.time()
    if wait <= SLOT_SLACK:
        message_dispatch(message_id=message_id)
        return
    if wait > REQUEUE_AFTER.total_seconds() / 2:
        # A long backlog on the sender: keep the sweeper from taking this one for lost.
        due = datetime.fromtimestamp(booking.start, tz=UTC) + REQUEUE_AFTER
        Message.objects.filter(pk=message_id, status=Status.QUEUED).update(due_at=due)
    _send_at(booking.start, message_id)


def _send_at(when: float, message_id: str) -> None:
    """Hand the message to this process's send pool for its slot."""
    sending.scheduler().call_at(when, partial(message_dispatch, message_id=message_id))


def dispatch_fanout(*, message_ids: list[str], queue: str) -> None:
    """On the worker: book each sender's slots for a batch and send each message at its slot."""
    rows = Message.objects.filter(pk__in=message_ids, status=Status.QUEUED)
    by_sender: dict[str, list[str]] = {}
    for message_id, sender in rows.order_by("id").values_list("id", "from_number"):
        by_sender.setdefault(sender, []).append(message_id)
    for sender, ids in by_sender.items():
        booking = pacing.book(sender=sender, count=len(ids), transactional=queue != "bulk")
        due_after(ids, booking)
        dispatch_booked(message_ids=ids, start=booking.start, step=booking.step)


def dispatch_booked(*, message_ids: list[str], start: float, step: float) -> None:
    """Send booked messages at their slots (`start`, then every `step` seconds), on the pool."""
    for index, message_id in enumerate(message_ids):
        _send_at(start + index * step, message_id)


def message_claim(*, message_id: str) -> Message | None:
    """Under the (workspace, phone) lock, re-check suppression and claim queued → sending.

    Every path that submits a message ends here, so a paused campaign's messages are held here.
    """
    with transaction.atomic():
        message = Message.objects.filter(pk=message_id).select_related("workspace").first()
        if message is None or message.status != Status.QUEUED:
            return None
        if _held_back(message):
            return None
        now = clock.now()
        claimed = Message.objects.filter(pk=message_id, status=Status.QUEUED).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
        )
        if not claimed:
            return None
    message.refresh_from_db()
    return message


def _held_back(message: Message) -> bool:
    """The claim's checks, in order: the campaign's gate, suppressions, quiet hours."""
    gate = message.campaign_id and campaign_gate(campaign_id=message.campaign_id, lock=True)
    if gate == HOLD:
        campaign_message_wait(message)
        return True
    if gate:  # the campaign was stopped
        _block_suppressed(message, code="stopped_by_user", status=Status.CANCELED)
        return True
    phone_lock(workspace_id=message.workspace_id, phone=message.to_number)
    if not message.system_reply and is_workspace_suppressed(
        workspace_id=message.workspace_id, phone=message.to_number
    ):
        _block_suppressed(message)
        return True
    if message.campaign_id and _campaign_suppressed(message):
        _block_suppressed(message, code="campaign_suppressed")
        return True
    return hold_for_quiet_hours(message)  # re-checked at the claim


def _campaign_suppressed(message: Message) -> bool:
    """The recipient opted out of this campaign after its messages were written (e.g. during a
    pause): none of them may go out."""
    return is_campaign_suppressed(
        workspace_id=message.workspace_id,
        phone=message.to_number,
        campaign_id=message.campaign_id,
    )


def _block_suppressed(
    message: Message, code: str = "workspace_suppressed", status: str = Status.FAILED
) -> None:
    """A STOP (or opt-out, or a campaign's stop) that committed before the claim wins: the
    message ends unsent, free of charge."""
    error = delivery_error(code)
    finish(
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
        status_callback_url=provider.status_callback_url(),
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
    reports_apply_for(provider=message.provider, provider_message_id=provider_message_id)


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
                enqueue_on_commit(message)
    else:
        delivery_failed(
            message=message,
            status=Status.FAILED,
            provider_code=None,
            reached_provider=True,
            code="unknown_outcome",
        )


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
            enqueue_on_commit(message, countdown=delay)


def message_cancel(*, message: Message, detail: dict | None = None) -> Message:
    """Cancel a scheduled message, or a queued one no worker has claimed; else `invalid_state`.

    `detail` goes on the `canceled` event (the console records its member there)."""
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
        finish(locked, Status.CANCELED, reached_provider=False)
        event_add(locked, "canceled", detail)
    return locked
