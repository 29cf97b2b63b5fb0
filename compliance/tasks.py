"""Thin tasks of the compliance app: take ids, call the export service."""

from celery import shared_task

from .exports.run import SOFT_TIME_LIMIT, TIME_LIMIT
from .exports.run import export_run as run_export
from .exports.sweeps import export_sweep


@shared_task(
    name="compliance.tasks.export_run",
    acks_late=True,
    time_limit=TIME_LIMIT,
    soft_time_limit=SOFT_TIME_LIMIT,
)
def export_run(export_id: str) -> None:
    """Write one export's file (safe to run twice: the claim is a conditional UPDATE)."""
    run_export(export_id=export_id)


@shared_task(name="compliance.tasks.sweep")
def sweep() -> None:
    """Beat: expired export files, exports whose task was lost, runs whose worker died."""
    export_sweep()
