"""Periodic tasks of the workspaces app; thin, each calls a service."""

from celery import shared_task

from .services import heartbeat_record


@shared_task(name="workspaces.tasks.worker_heartbeat")
def worker_heartbeat() -> None:
    """Beat sends this every 15 s; a worker running it proves it is alive."""
    heartbeat_record(name="worker")
