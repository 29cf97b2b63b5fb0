"""How a message looks from outside: the API resource and the webhook payload (CONTRACT §4, §8).

Plain functions, not serializers: they sit on the hot path of every send and every list page.
"""

from workspaces.clock import isoformat

from .models import Message


def event_resource(event) -> dict:
    """One timeline step."""
    return {"event": event.event, "at": isoformat(event.at), "detail": event.detail}


def message_resource(message: Message, events=None) -> dict:
    """The message as CONTRACT §4 shows it (a plain function: it sits on the hot path)."""
    timeline = events if events is not None else getattr(message, "timeline_cache", None)
    if timeline is None:
        timeline = list(message.events.all())
    return {
        "id": message.id,
        "direction": message.direction,
        "status": message.status,
        "to": message.to_number,
        "from": message.from_number,
        "body": message.body,
        "category": message.category,
        "segments": message.segments,
        "encoding": message.encoding,
        "price": f"{message.price:.4f}",
        "currency": message.currency,
        "test": message.test,
        "campaign": message.campaign_id or None,
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "error": message.error,
        "metadata": message.metadata,
        "send_at": isoformat(message.send_at),
        "created_at": isoformat(message.created_at),
        "updated_at": isoformat(message.updated_at),
        "timeline": [event_resource(e) for e in timeline],
    }


def message_event_data(message: Message) -> dict:
    """The message for a webhook event: the resource without its timeline (which grows later)."""
    data = message_resource(message, events=[])
    del data["timeline"]
    return data


def refusal_resource(refusal) -> dict:
    """A refused send; `count` is how many 429s a `rate_limited` row stands for."""
    return {
        "id": refusal.id,
        "code": refusal.code,
        "to": refusal.to_number,
        "token": refusal.token_id,
        "via": refusal.via,
        "request_id": refusal.request_id,
        "created_at": isoformat(refusal.created_at),
        "count": refusal.count,
        "from": refusal.from_number,  # last, as the API has always listed it
    }


def provider_exchange_resource(exchange) -> dict:
    """One exchange with a provider, secrets already redacted."""
    return {
        "at": isoformat(exchange.at),
        "kind": exchange.kind,
        "method": exchange.method,
        "url": exchange.url,
        "status_code": exchange.status_code,
        "headers": {str(k): None if v is None else str(v) for k, v in exchange.headers.items()},
        "body": exchange.body,
    }
