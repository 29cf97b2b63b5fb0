"""Webhook events, deliveries and attempts are kept RETENTION_WEBHOOKS_DAYS (CONTRACT §13).

Registered children first, so each batch deletes only its own table's rows: attempts, then
deliveries, then the events left without deliveries.
"""

from datetime import datetime

from workspaces.retention import days, register_purge

from .models import DeliveryAttempt, Event, WebhookDelivery


def _cutoff(now: datetime) -> datetime:
    return now - days("RETENTION_WEBHOOKS_DAYS")


def attempts_due(now: datetime):
    """Attempts of events past the period."""
    return DeliveryAttempt.objects.filter(delivery__event__created_at__lt=_cutoff(now))


def deliveries_due(now: datetime):
    """Deliveries of events past the period whose attempts are gone."""
    return WebhookDelivery.objects.filter(event__created_at__lt=_cutoff(now), attempts__isnull=True)


def events_due(now: datetime):
    """Events past the period whose deliveries are gone."""
    return Event.objects.filter(created_at__lt=_cutoff(now), deliveries__isnull=True)


def register() -> None:
    """Called from WebhooksConfig.ready()."""
    register_purge("webhooks.attempts", attempts_due)
    register_purge("webhooks.deliveries", deliveries_due)
    register_purge("webhooks.events", events_due)
