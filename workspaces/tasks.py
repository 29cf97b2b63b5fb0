"""Periodic tasks of the workspaces app; thin, each calls a service."""

from celery import shared_task
from celery.signals import worker_ready

from .services import heartbeat_record


@shared_task(name="workspaces.tasks.worker_heartbeat")
def worker_heartbeat() -> None:
    """Beat sends this every 15 s; a worker running it proves it is alive."""
    heartbeat_record(name="worker")


@worker_ready.connect
def _worker_started(**kwargs) -> None:
    """A worker that just started is alive now, not only at beat's next heartbeat."""
    heartbeat_record(name="worker")


@shared_task(name="workspaces.tasks.retention_purge")
def retention_purge() -> None:
    """Beat: delete what CONTRACT §13 keeps only for a while, in bounded batches."""
    from .retention import purge_run

    purge_run()


@shared_task(name="workspaces.tasks.clear_sessions")
def clear_sessions() -> None:
    """Beat, daily: Django's `clearsessions`."""
    from django.core.management import call_command

    call_command("clearsessions")
