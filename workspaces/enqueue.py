"""Publishing a task once the database has committed the rows it acts on, without ever failing
the request: the commit is the promise, the task only the nudge (each app's sweeper re-enqueues
rows left waiting)."""

import logging
from collections.abc import Callable

from django.db import transaction
from kombu import exceptions as kombu_errors

logger = logging.getLogger("tern.enqueue")

# What a broker that is down, full or gone raises at publish (kombu wraps the transports' own).
BROKER_ERRORS = (
    kombu_errors.KombuError,
    kombu_errors.ChannelError,
    kombu_errors.ConnectionError,
    OSError,
)


def publish(task, args: tuple = (), **options) -> bool:
    """`task.apply_async(args, **options)`; a broker error is logged, not raised (False)."""
    return call_logging_broker_errors(lambda: task.apply_async(args, **options), task.name)


def publish_on_commit(task, args: tuple = (), **options) -> None:
    """Publish after the current transaction commits (at once outside one); never raises."""
    transaction.on_commit(lambda: publish(task, args, **options))


def on_commit_logging_broker_errors(func: Callable[[], object], what: str) -> None:
    """Run `func` (which publishes) after commit; a broker error is logged, not raised."""
    transaction.on_commit(lambda: call_logging_broker_errors(func, what))


def call_logging_broker_errors(func: Callable[[], object], what: str) -> bool:
    """Run `func`; True, or False after logging a broker error (the sweeper retries later)."""
    try:
        func()
    except BROKER_ERRORS:
        logger.exception("enqueue: the broker refused %s; its sweeper will enqueue it again", what)
        return False
    return True
