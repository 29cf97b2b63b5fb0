"""Recovery of work lost with a worker: queued messages whose lease expired go back in bulk.

A queued message's `due_at` is its lease: accept sets it REQUEUE_AFTER ahead, and a worker that
books the message a slot moves it past that slot (`services._due_after`). A worker that dies
takes its booked slots with it; once the lease has expired the sweep hands every such message
back in fan-out tasks of FANOUT_CHUNK ids, which book the sender's slots for the lot at once. So
a lost backlog leaves at the sender's pace (300 at 100/s: 3 s), not one task, one broker round
trip and one slot booking at a time. A task handed out twice is harmless: the claim is a
conditional UPDATE (queued → sending), so a message is submitted at most once.
"""

from datetime import timedelta

from django.db import transaction

from workspaces.enqueue import publish_on_commit

from .models import Message, Status

# Messages handed back per sweep (every 15 s): far above any sender's 15 s of slots.
REQUEUE_LIMIT = 5000
FANOUT_CHUNK = 100


def fan_out(message_ids: list[str], *, queue: str = "transactional") -> None:
    """After commit, a fan-out task per FANOUT_CHUNK ids (never one publish per message)."""
    from .tasks import dispatch_fanout

    for start in range(0, len(message_ids), FANOUT_CHUNK):
        chunk = message_ids[start : start + FANOUT_CHUNK]
        publish_on_commit(dispatch_fanout, (chunk, queue), queue=queue)


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
