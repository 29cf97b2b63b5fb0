"""Thin tasks of the send path: take ids, call a service."""

from celery import shared_task

from . import services


# The hard limit stays well under STUCK_SENDING_AFTER: a send still in flight is never "stuck".
@shared_task(
    name="messaging.tasks.dispatch_message", acks_late=True, time_limit=60, soft_time_limit=50
)
def dispatch_message(message_id: str) -> None:
    """Claim and submit one message (safe to run twice: the claim is a conditional UPDATE)."""
    services.message_dispatch(message_id=message_id)


@shared_task(name="messaging.tasks.dispatch_fanout", acks_late=True)
def dispatch_fanout(message_ids: list[str], queue: str) -> None:
    """Publish one dispatch task per message of a batch (publishing off the request path)."""
    services.dispatch_fanout(message_ids=message_ids, queue=queue)


@shared_task(name="messaging.tasks.simulator_report")
def simulator_report(status: str, provider_message_id: str, error_code: str | None) -> None:
    """The simulator's status report, applied through the same path as a real callback."""
    services.simulator_report_apply(
        status=status, provider_message_id=provider_message_id, error_code=error_code
    )


@shared_task(name="messaging.tasks.sweep")
def sweep() -> None:
    """Beat: due sends and retries, lost queued tasks, stuck sends, overdue settlements."""
    services.sweep_due()
    services.sweep_stuck_sending()
    services.sweep_settle_overdue()
    services.sweep_simulator_reports()
