"""Booking a campaign's sends: a window of its queued messages at its sender's pace, in chunks.

The campaign's pump calls `campaign_window_book` every few seconds; each chunk reaches a worker
as one `dispatch_booked` task shortly before its first slot, and every message still passes
messaging's claim (pause, stop, suppressions, quiet hours) when its slot comes.
"""

import math
import time

from django.db import transaction

from messaging import pacing
from messaging.hooks import campaign_gate
from messaging.lifecycle import due_after
from messaging.models import Message, Status
from messaging.tasks import dispatch_booked
from workspaces.enqueue import publish_on_commit

# Booked campaign messages reach the worker this many at a time, a little before their slots.
BOOKED_CHUNK = 200
CHUNK_LEAD = 1.0


def campaign_window_book(
    *, campaign_id: str, sender: str, seconds: float, campaign_rate: float | None
) -> pacing.Booking | None:
    """Book the next `seconds` of a campaign's queued, unbooked messages; enqueue them in chunks.

    Unbooked campaign messages are queued with no due time. Booking sets one, so a lost chunk
    is found by the sweeper, which hands it back here (due time cleared) instead of sending it.
    """
    if campaign_gate(campaign_id=campaign_id):  # paused since the pump looked: book no slots
        return None
    rate = min(pacing.sender_rate(sender), campaign_rate or float("inf"))
    size = max(1, math.ceil(rate * seconds))
    with transaction.atomic():
        ids = _unbooked(campaign_id, size)
        if not ids:
            return None
        # The first slot after the chunk can reach a worker: a slot already past when its
        # message arrives would go at once, bunched with the next ones.
        booking = pacing.book(
            sender=sender,
            count=len(ids),
            campaign_id=campaign_id,
            campaign_rate=campaign_rate,
            not_before=CHUNK_LEAD,
        )
        due_after(ids, booking)
        _enqueue_chunks(ids, booking)
    return booking


def _unbooked(campaign_id: str, size: int) -> list[str]:
    """Up to `size` of the campaign's queued messages with no slot yet, locked, oldest first."""
    unbooked = Message.objects.filter(
        campaign_id=campaign_id, status=Status.QUEUED, due_at=None
    ).order_by("id")
    return list(unbooked.select_for_update(skip_locked=True).values_list("id", flat=True)[:size])


def _enqueue_chunks(ids: list[str], booking: pacing.Booking) -> None:
    """After commit, one `dispatch_booked` task per chunk, CHUNK_LEAD before its first slot."""
    for first in range(0, len(ids), BOOKED_CHUNK):
        chunk, chunk_start = ids[first : first + BOOKED_CHUNK], booking.slot(first)
        countdown = max(0.0, chunk_start - time.time() - CHUNK_LEAD)
        publish_on_commit(
            dispatch_booked,
            (chunk, chunk_start, booking.step),
            queue="bulk",
            countdown=countdown or None,
        )
