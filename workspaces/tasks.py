"""Periodic tasks of the workspaces app; thin, each calls a service."""

import logging
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection

from .services import heartbeat_record

logger = logging.getLogger("tern.health")
_stops: list[threading.Event] = []


@shared_task(name="workspaces.tasks.worker_heartbeat")
def worker_heartbeat() -> None:
    """A worker running this task proves it consumes (each worker also beats on its own)."""
    heartbeat_record(name="worker")


def worker_heartbeat_name(hostname: str) -> str:
    """The Heartbeat row of one worker process (`/healthz` counts any fresh `worker*` row)."""
    return f"worker:{hostname}"[:32]


@worker_ready.connect
def _worker_started(sender=None, **kwargs) -> None:
    """Each worker records its own heartbeat now and every WORKER_HEARTBEAT_SECONDS, in a
    thread of its own: its health does not depend on beat sending it a task."""
    name = worker_heartbeat_name(getattr(sender, "hostname", None) or "worker")
    _beat(name)
    stop = threading.Event()
    _stops.append(stop)
    threading.Thread(
        target=_beat_until, args=(name, stop), name="tern-heartbeat", daemon=True
    ).start()


@worker_shutdown.connect
def _worker_stopping(**kwargs) -> None:
    """A worker shutting down stops beating (then goes stale on /healthz)."""
    for stop in _stops:
        stop.set()


def _beat_until(name: str, stop: threading.Event) -> None:
    while not stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
        _beat(name)


def _beat(name: str) -> None:
    """One heartbeat; a database error is logged (the next beat tries again), never fatal."""
    try:
        heartbeat_record(name=name)
    except Exception:
        logger.exception("health: the worker heartbeat %s could not be recorded", name)
    finally:
        connection.close()  # this thread's own connection: not held between beats


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


@shared_task(name="workspaces.tasks.audit_chain_check", acks_late=True)
def audit_chain_check(check_id: str) -> None:
    """Verify one workspace's audit chain for the console (safe to run twice: a claim)."""
    from .chain_checks import chain_check_run

    chain_check_run(check_id=check_id)
