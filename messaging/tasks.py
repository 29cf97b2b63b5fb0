"""Thin tasks of the send path: take ids, call an action. Their names are what the broker and
beat know them by (queued tasks outlive a deploy), so they never change."""

from celery import shared_task
from django.db import connection

from . import summaries
from .actions import dispatch, reports, sweeps


# The hard limit stays well under STUCK_SENDING_AFTER: a send still in flight is never "stuck".
@shared_task(
    name="messaging.tasks.dispatch_message", acks_late=True, time_limit=60, soft_time_limit=50
)
def dispatch_message(message_id: str) -> None:
    """Claim and submit one message at its sender's pace (safe twice: the claim is conditional)."""
    dispatch.dispatch_paced(message_id=message_id)


@shared_task(name="messaging.tasks.dispatch_fanout", acks_late=True)
def dispatch_fanout(message_ids: list[str], queue: str) -> None:
    """Book a batch's slots and send each message at its slot, on this process's send pool."""
    dispatch.dispatch_fanout(message_ids=message_ids, queue=queue)


@shared_task(name="messaging.tasks.dispatch_booked", acks_late=True)
def dispatch_booked(message_ids: list[str], start: float, step: float) -> None:
    """Send campaign messages whose slots a campaign's pump booked, each at its slot."""
    dispatch.dispatch_booked(message_ids=message_ids, start=start, step=step)


@shared_task(name="messaging.tasks.sweep")
def sweep() -> None:
    """Beat: due sends and retries, lost queued tasks, stuck sends, overdue settlements, each
    provider's own sweep, reports kept for ids stored since, and the dashboard's summary deltas."""
    sweeps.sweep_due()
    sweeps.sweep_stuck_sending()
    sweeps.sweep_settle_overdue()
    sweeps.sweep_providers()
    reports.pending_reports_sweep()
    summaries.fold(connection)
