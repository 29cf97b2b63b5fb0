"""Reads of the webhooks app: every query starts from a workspace and a mode (test or live)."""

from datetime import datetime, timedelta

from django.db.models import QuerySet

from .models import Event, WebhookDelivery, WebhookEndpoint

EVENT_RETENTION = timedelta(days=30)  # how far back GET /events reaches (CONTRACT §8)


def endpoint_list(*, workspace_id: str, test: bool) -> QuerySet[WebhookEndpoint]:
    """The workspace's endpoints of one mode."""
    return WebhookEndpoint.objects.for_workspace(workspace_id).filter(test=test)


def delivery_list(*, workspace_id: str, test: bool) -> QuerySet[WebhookDelivery]:
    """Deliveries to the workspace's endpoints of one mode, with event and attempts fetched
    alongside (a delivery has no mode of its own: it takes its endpoint's)."""
    return (
        WebhookDelivery.objects.for_workspace(workspace_id)
        .filter(endpoint__test=test)
        .select_related("event")
        .prefetch_related("attempts")
    )


def event_list(*, workspace_id: str, test: bool, now: datetime) -> QuerySet[Event]:
    """The workspace's events of one mode from the last 30 days."""
    return Event.objects.for_workspace(workspace_id).filter(
        test=test, created_at__gte=now - EVENT_RETENTION
    )
