"""The simulator's reports: `sent`, then the scripted final status, through the real status path.

A fake carrier's callbacks, applied from the worker's send pool a couple of seconds after each
submission; a final report lost with a killed worker is posted again by the sweep.
"""

import time
from datetime import timedelta

from django.db import transaction

from workspaces import clock

from ...actions.reports import status_report_apply
from ...models import Status
from ...sending import scheduler
from ..base import StatusReport
from .models import SimulatorSubmission

NAME = "simulator"
REPORT_DELAY = 2  # seconds until the `sent` report and the final one, posted one after the other


def schedule_reports(sid: str, status: str, code: str | None) -> None:
    """Report `sent`, then the final status, from this worker's pool like a provider's callbacks.

    A report lost with its process is posted again by the sweep (`overdue_reports`).
    """
    scheduler().call_at(
        time.time() + REPORT_DELAY,
        lambda: simulator_reports_apply(status=status, provider_message_id=sid, error_code=code),
    )


def simulator_report_apply(
    *, status: str, provider_message_id: str, error_code: str | None
) -> None:
    """Apply one of the simulator's reports; its final one is then marked as delivered."""
    report = StatusReport(
        provider=NAME, status=status, error_code=error_code, provider_message_id=provider_message_id
    )
    with transaction.atomic():  # the report and the ledger's note of it: one commit
        status_report_apply(report=report)
        if status != Status.SENT:
            mark_reported(provider_message_id)


def simulator_reports_apply(
    *, status: str, provider_message_id: str, error_code: str | None
) -> None:
    """The simulator's `sent` report and then its final one, as a provider posts them in turn."""
    if status != Status.SENT:
        simulator_report_apply(
            status=Status.SENT, provider_message_id=provider_message_id, error_code=None
        )
    simulator_report_apply(
        status=status, provider_message_id=provider_message_id, error_code=error_code
    )


def mark_reported(provider_message_id: str) -> None:
    """The final report went out: the sweep need not send it again."""
    SimulatorSubmission.objects.filter(provider_message_id=provider_message_id).update(
        reported_at=clock.now()
    )


def overdue_reports(*, older_than: timedelta = timedelta(seconds=30), limit: int = 500):
    """Final reports whose task was lost (a killed worker): (sid, status, code) to send again."""
    rows = SimulatorSubmission.objects.filter(
        accepted=True, reported_at=None, created_at__lte=clock.now() - older_than
    )
    return [(r.provider_message_id, r.final_status, r.final_code or None) for r in rows[:limit]]


def sweep_simulator_reports() -> int:
    """Send again the simulator's final reports whose task was lost with a killed worker."""
    overdue = overdue_reports()
    for sid, status, code in overdue:
        simulator_report_apply(status=status, provider_message_id=sid, error_code=code)
    return len(overdue)
