"""Thin tasks of the compliance app: take ids, call the export service."""

from celery import shared_task

from . import exports


@shared_task(
    name="compliance.tasks.export_run",
    acks_late=True,
    time_limit=exports.TIME_LIMIT,
    soft_time_limit=exports.SOFT_TIME_LIMIT,
)
def export_run(export_id: str) -> None:
    """Write one export's file (safe to run twice: the claim is a conditional UPDATE)."""
    exports.export_run(export_id=export_id)


@shared_task(name="compliance.tasks.sweep")
def sweep() -> None:
    """Beat: expired export files, exports whose task was lost, runs whose worker died."""
    exports.export_sweep()
