"""How webhook endpoints, deliveries and events look from outside (CONTRACT §8)."""

from workspaces.clock import isoformat

from .models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint


def endpoint_resource(endpoint: WebhookEndpoint) -> dict:
    """An endpoint as listed and read: never its secret."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "mode": endpoint_mode(endpoint),
        "created_at": isoformat(endpoint.created_at),
        "disabled_at": isoformat(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason,
    }


def endpoint_mode(endpoint: WebhookEndpoint) -> str:
    """`test` or `live`: the mode of the token that created it."""
    return "test" if endpoint.test else "live"


def delivery_attempt_resource(attempt: DeliveryAttempt) -> dict:
    """One HTTP attempt of a delivery."""
    return {
        "number": attempt.number,
        "at": isoformat(attempt.at),
        "response_code": attempt.response_code,
        "latency_ms": attempt.latency_ms,
        "response_body": attempt.response_body,
        "error": attempt.error,
    }


def delivery_resource(delivery: WebhookDelivery) -> dict:
    """One event on its way to one endpoint, with every attempt made."""
    return {
        "id": delivery.id,
        "endpoint": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event.type,
        "status": delivery.status,
        "attempt": delivery.attempt,
        "response_code": delivery.response_code,
        "latency_ms": delivery.latency_ms,
        "response_body": delivery.response_body,
        # CONTRACT §8 names it `next_retry`; `next_retry_at` says the same, as other times do.
        "next_retry": isoformat(delivery.next_retry_at),
        "next_retry_at": isoformat(delivery.next_retry_at),
        "created_at": isoformat(delivery.created_at),
        "attempts": [delivery_attempt_resource(a) for a in delivery.attempts.all()],
    }


def webhook_event_resource(event: Event) -> dict:
    """An event as webhooks carry it: `{"id", "type", "created_at", "test", "data"}`."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": isoformat(event.created_at),
        "test": event.test,
        "data": event.data,
    }
