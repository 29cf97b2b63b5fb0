"""The beat's sweeps: what a crash, a lost task or a silent provider left behind.

A queued message's `due_at` is its lease: accept sets it REQUEUE_AFTER ahead, and a worker that
books the message a slot moves it past that slot (`lifecycle.due_after`). A worker that dies
takes its booked slots with it; once the lease has expired the sweep hands every such message
back in fan-out tasks of FANOUT_CHUNK ids, which book the sender's slots for the lot at once. So
a lost backlog leaves at the sender's pace (300 at 100/s: 3 s), not one task, one broker round
trip and one slot booking at a time. A task handed out twice is harmless: the claim is a
conditional UPDATE (queued → sending), so a message is submitted at most once.
"""

from datetime import timedelta

from django.db import transaction

from workspaces import clock

from .. import pricing
from ..lifecycle import REQUEUE_AFTER, announce, enqueue_many_on_commit, fan_out
from ..models import Message, Status
from ..providers.registry import registered_providers
from ..timeline import event_add
from .dispatch import reconcile

# A message `sending` for longer was caught mid-call by a crash: reconcile it.
STUCK_SENDING_AFTER = timedelta(minutes=2)
SETTLE_AFTER = timedelta(hours=72)
# Messages handed back per sweep (every 15 s): far above any sender's 15 s of slots.
REQUEUE_LIMIT = 5000


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
    return len(released) + requeue_expired(now=now, lease=REQUEUE_AFTER)


def requeue_expired(*, now, lease: timedelta, limit: int = REQUEUE_LIMIT) -> int:
    """Hand back queued (non-campaign) messages whose lease expired, each with a new lease."""
    with transaction.atomic():
        expired = Message.objects.filter(status=Status.QUEUED, due_at__lte=now, campaign_id="")
        ids = list(
            expired.order_by("due_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        Message.objects.filter(pk__in=ids, status=Status.QUEUED).update(due_at=now + lease)
        fan_out(ids)
    return len(ids)


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


def sweep_providers() -> int:
    """Each registered provider's own periodic work (e.g. reports a killed worker lost)."""
    return sum(provider.sweep() or 0 for provider in registered_providers())
