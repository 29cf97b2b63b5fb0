"""`emit(...)`: record an event in the caller's transaction and queue its deliveries.

No event is written for a rolled-back change (same transaction), and none is lost: deliveries
are rows, enqueued after commit, and the sweeper re-enqueues any whose task went missing.
"""

from datetime import timedelta

from celery import current_app

from workspaces import clock
from workspaces.audit import json_safe
from workspaces.enqueue import on_commit_logging_broker_errors, publish_on_commit

from .models import Event, WebhookDelivery, WebhookEndpoint

# An attempt in progress holds its delivery this long; one that died comes due again after it.
LEASE = timedelta(minutes=2)
# A task handed to the broker holds its delivery this long: a backlog waiting for the workers is
# not enqueued again meanwhile, and a task the broker lost is handed out again after it.
HANDOFF_LEASE = timedelta(minutes=5)
DELIVER_TASK = "webhooks.tasks.deliver_webhook"
EVENT_TYPES = (
    "message.queued",
    "message.sent",
    "message.delivered",
    "message.undelivered",
    "message.failed",
    "message.canceled",
    "message.received",
    "suppression.created",
    "suppression.removed",
    "campaign.completed",
    "export.completed",
    "spend.threshold_reached",
    "ping",
)


def emit(*, workspace_id: str, test: bool, type: str, data: dict) -> Event:
    """Write the event and one pending delivery per subscribed, enabled endpoint of its mode."""
    now = clock.now()
    event = Event.objects.create(
        workspace_id=workspace_id, test=test, type=type, data=json_safe(data), created_at=now
    )
    endpoints = WebhookEndpoint.objects.filter(workspace_id=workspace_id, test=test, enabled=True)
    deliveries_create(event, [e for e in endpoints if e.wants(type)], now)
    return event


def deliveries_create(event: Event, endpoints: list, now) -> list[WebhookDelivery]:
    """Pending deliveries of an event, attempted right after the transaction commits."""
    return deliveries_create_many([event], endpoints, now)


def deliveries_create_many(events: list[Event], endpoints: list, now) -> list[WebhookDelivery]:
    """One pending, leased delivery per (event, endpoint): one insert, one enqueue after commit."""
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                workspace_id=event.workspace_id,
                endpoint=endpoint,
                event=event,
                next_retry_at=now,
                leased_until=now + HANDOFF_LEASE,
                created_at=now,
            )
            for event in events
            for endpoint in endpoints
        ]
    )
    enqueue_many_on_commit([delivery.id for delivery in deliveries])
    return deliveries


def enqueue_on_commit(delivery_id: str, countdown: float | None = None) -> None:
    """Attempt the delivery on the worker once the current transaction commits."""
    publish_on_commit(_deliver_task(), (delivery_id,), queue="webhooks", countdown=countdown)


def enqueue_many_on_commit(delivery_ids: list[str]) -> None:
    """After commit, one task per delivery (the workers attempt them in parallel), all published
    over one broker connection; a broker error leaves the rest to the sweeper."""
    if delivery_ids:
        on_commit_logging_broker_errors(lambda: _publish_all(delivery_ids), "webhook deliveries")


def _publish_all(delivery_ids: list[str]) -> None:
    deliver_webhook = _deliver_task()
    with deliver_webhook.app.producer_or_acquire() as producer:
        for delivery_id in delivery_ids:
            deliver_webhook.apply_async((delivery_id,), queue="webhooks", producer=producer)


def _deliver_task():
    """The delivery task by its name (WebhooksConfig.ready() registers webhooks.tasks)."""
    return current_app.tasks[DELIVER_TASK]


def subscribers(*, workspace_id: str, test: bool, type: str) -> list[WebhookEndpoint]:
    """The enabled endpoints of this workspace and mode that subscribe to the event type."""
    endpoints = WebhookEndpoint.objects.filter(workspace_id=workspace_id, test=test, enabled=True)
    return [endpoint for endpoint in endpoints if endpoint.wants(type)]


def wanted(*, workspace_id: str, test: bool, type: str) -> bool:
    """True when some endpoint would receive the event type."""
    return bool(subscribers(workspace_id=workspace_id, test=test, type=type))


def emit_many(*, workspace_id: str, test: bool, type: str, items: list[dict]) -> list[Event]:
    """`emit` for many resources of one type at once (a batch): a few statements in all."""
    if not items:
        return []
    now = clock.now()
    events = Event.objects.bulk_create(
        [
            Event(
                workspace_id=workspace_id,
                test=test,
                type=type,
                data=json_safe(data),
                created_at=now,
            )
            for data in items
        ]
    )
    endpoints = subscribers(workspace_id=workspace_id, test=test, type=type)
    if endpoints:
        deliveries_create_many(events, endpoints, now)
    return events
