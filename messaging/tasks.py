"""Thin tasks of the send path: take ids, call a service."""

from celery import shared_task

from . import pending_reports, services


# The hard limit stays well under STUCK_SENDING_AFTER: a send still in flight is never "stuck".
@shared_task(
    name="messaging.tasks.dispatch_message", acks_late=True, time_limit=60, soft_time_limit=50
)
def dispatch_message(message_id: str) -> None:
    """Claim and submit one message at its sender's pace (safe twice: the claim is conditional)."""
    services.dispatch_paced(message_id=message_id)


@shared_task(name="messaging.tasks.dispatch_fanout", acks_late=True)
def dispatch_fanout(message_ids: list[str], queue: str) -> None:
    """Book a batch's slots and send each message at its slot, on this process's send pool."""
    services.dispatch_fanout(message_ids=message_ids, queue=queue)


@shared_task(name="messaging.tasks.dispatch_booked", acks_late=True)
def dispatch_booked(message_ids: list[str], start: float, step: float) -> None:
    """Send campaign messages whose slots a campaign's pump booked, each at its slot."""
    services.dispatch_booked(message_ids=message_ids, start=start, step=step)


@shared_task(name="messaging.tasks.simulator_report")
def simulator_report(status: str, provider_message_id: str, error_code: str | None) -> None:
    """The simulator's `sent` report and then its final one, through the real callback path."""
    services.simulator_reports_apply(
        status=status, provider_message_id=provider_message_id, error_code=error_code
    )


@shared_task(name="messaging.tasks.sweep")
def sweep() -> None:
    """Beat: due sends and retries, lost queued tasks, stuck sends, overdue settlements."""
    services.sweep_due()
    services.sweep_stuck_sending()
    services.sweep_settle_overdue()
    services.sweep_simulator_reports()
    pending_reports.pending_reports_sweep()
