"""`emit(...)`: record an event in the caller's transaction and queue its deliveries.

No event is written for a rolled-back change (same transaction), and none is lost: deliveries
are rows, enqueued after commit, and the sweeper re-enqueues any whose task went missing.
"""

from datetime import timedelta

from workspaces import clock
from workspaces.audit import json_safe
from workspaces.enqueue import publish_on_commit

from .models import Event, WebhookDelivery, WebhookEndpoint

# An attempt in progress holds its delivery this long; one that died comes due again after it.
LEASE = timedelta(minutes=2)
EVENT_TYPES = (
    "message.queued", "message.sent", "message.delivered", "message.undelivered",
    "message.failed", "message.canceled", "message.received", "suppression.created",
    "suppression.removed", "campaign.completed", "export.completed", "spend.threshold_reached",
    "ping",
)  # fmt: skip


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
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(workspace_id=event.workspace_id, endpoint=endpoint, event=event,
                            next_retry_at=now, created_at=now)
            for endpoint in endpoints
        ]
    )  # fmt: skip
    for delivery in deliveries:
        enqueue_on_commit(delivery.id)
    return deliveries


def enqueue_on_commit(delivery_id: str, countdown: float | None = None) -> None:
    """Attempt the delivery on the worker once the current transaction commits."""
    from .tasks import deliver_webhook

    publish_on_commit(deliver_webhook, (delivery_id,), queue="webhooks", countdown=countdown)


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
        [Event(workspace_id=workspace_id, test=test, type=type, data=json_safe(data),
               created_at=now) for data in items]
    )  # fmt: skip
    endpoints = subscribers(workspace_id=workspace_id, test=test, type=type)
    if endpoints:
        for event in events:
            deliveries_create(event, endpoints, now)
    return events
