"""The steps every verb of the send path shares, below the verbs (`messaging.actions`).

Announce a status, enqueue after commit, finish a message (settling its spend), suppress a
number a carrier refused for good, hold marketing for quiet hours. The dispatch tasks are
published by name, as beat names its tasks, so this module never imports the tasks above it.
"""

from datetime import UTC, datetime, timedelta

from celery import current_app

from compliance.quiet_hours import quiet_hours_hold
from compliance.services import suppression_create
from webhooks.events import emit, emit_many
from workspaces import clock
from workspaces.audit import Actor
from workspaces.enqueue import publish_on_commit

from . import pricing
from .hooks import recipient_timezone
from .models import Message, Status
from .pacing import Booking
from .resources import message_event_data
from .timeline import event_add

# A queued message not claimed by then is re-enqueued by the sweeper.
REQUEUE_AFTER = timedelta(seconds=90)
COUNTDOWN_LIMIT = 60  # longer waits are due-time rows, swept by beat
FANOUT_CHUNK = 100
ANNOUNCED_FINAL = {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED}
DISPATCH_MESSAGE = "messaging.tasks.dispatch_message"
DISPATCH_FANOUT = "messaging.tasks.dispatch_fanout"


def announce(message: Message, status: str) -> None:
    """Emit `message.<status>` in the current transaction, for the workspace's webhooks."""
    emit(
        workspace_id=message.workspace_id,
        test=message.test,
        type=f"message.{status}",
        data=message_event_data(message),
    )


def announce_many(messages: list[Message], status: str) -> None:
    """`announce` for a batch of one workspace and mode."""
    queued = [m for m in messages if m.status == status]
    if queued:
        first = queued[0]
        emit_many(
            workspace_id=first.workspace_id,
            test=first.test,
            type=f"message.{status}",
            items=[message_event_data(m) for m in queued],
        )


def _task(name: str):
    """A registered task by its name (MessagingConfig.ready() registers messaging.tasks)."""
    return current_app.tasks[name]


def queue_for(message: Message) -> str:
    """Campaign traffic has its own queue, so a broadcast never starves transactional sends."""
    return "bulk" if message.campaign_id else "transactional"


def enqueue_on_commit(message: Message, countdown: float | None = None) -> None:
    """After commit, one dispatch task for the message on its queue."""
    queue = queue_for(message)
    publish_on_commit(_task(DISPATCH_MESSAGE), (message.id,), queue=queue, countdown=countdown)


def fan_out(message_ids: list[str], *, queue: str = "transactional") -> None:
    """After commit, a fan-out task per FANOUT_CHUNK ids (never one publish per message)."""
    task = _task(DISPATCH_FANOUT)
    for start in range(0, len(message_ids), FANOUT_CHUNK):
        chunk = message_ids[start : start + FANOUT_CHUNK]
        publish_on_commit(task, (chunk, queue), queue=queue)


def enqueue_many_on_commit(messages: list[Message]) -> None:
    """After commit, hand the worker a few fan-out tasks instead of one publish per message.

    A lost fan-out task is healed like any lost task: the sweeper re-enqueues queued messages.
    """
    queued = [m for m in messages if m.status == Status.QUEUED]
    for start in range(0, len(queued), FANOUT_CHUNK):
        chunk = queued[start : start + FANOUT_CHUNK]
        fan_out([m.id for m in chunk], queue=queue_for(chunk[0]))


def due_after(message_ids: list[str], booking: Booking) -> None:
    """Until their last slot has passed, the sweeper must not take booked messages for lost."""
    due = datetime.fromtimestamp(booking.end, tz=UTC) + REQUEUE_AFTER
    Message.objects.filter(pk__in=message_ids, status=Status.QUEUED).update(due_at=due)


def finish(
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
    fields = ["status", "due_at", "error", "reserved", "settled_at", "updated_at", *extra_fields]
    message.save(update_fields=fields)
    if status in ANNOUNCED_FINAL:
        announce(message, status)


def carrier_suppress(message: Message, code: str) -> None:
    """Suppress a number the carrier refused for good (source `carrier`), noted on the timeline."""
    suppression, created = suppression_create(
        workspace_id=message.workspace_id,
        phone=message.to_number,
        source="carrier",
        actor=Actor.system("carrier report"),
        reason=f"{code} on {message.id}",
    )
    if created:
        event_add(message, "suppressed", {"suppression": suppression.id, "code": code})


def hold_for_quiet_hours(message: Message) -> bool:
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


def campaign_message_wait(message: Message) -> None:
    """A held campaign's message stays queued, unbooked, for the pump to book after the resume
    (noted once on its timeline: a redelivered task finds it unbooked already)."""
    booked = Message.objects.filter(pk=message.pk, status=Status.QUEUED, due_at__isnull=False)
    if booked.update(due_at=None):
        event_add(message, "held_campaign_paused", {"campaign": message.campaign_id})
