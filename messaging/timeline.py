"""Timeline events: the record of everything that happens to a message."""

from workspaces import clock
from workspaces.audit import json_safe

from .models import Message, MessageEvent


def event_build(
    message: Message, event: str, detail: dict | None = None, at=None, dedupe_key: str | None = None
) -> MessageEvent:
    """An unsaved event (for bulk inserts)."""
    return MessageEvent(
        workspace_id=message.workspace_id,
        message=message,
        event=event,
        at=at or clock.now(),
        detail=json_safe(detail) if detail else {},
        dedupe_key=dedupe_key,
    )


def event_add(message: Message, event: str, detail: dict | None = None, at=None) -> MessageEvent:
    """Append one event to the message's timeline."""
    built = event_build(message, event, detail, at)
    built.save(force_insert=True)
    return built


def event_add_once(
    message: Message, event: str, dedupe_key: str, detail: dict | None = None
) -> bool:
    """Append an event unless one with this key exists; False when it was a repeat.

    Call it holding the message's row lock: every writer of keyed events does, so the check and
    the insert cannot interleave with another's (the unique constraint stays as the backstop).
    """
    if MessageEvent.objects.filter(message=message, dedupe_key=dedupe_key).exists():
        return False
    event_build(message, event, detail, dedupe_key=dedupe_key).save(force_insert=True)
    return True


def record_webhook_outcome(*, delivery, succeeded: bool) -> None:
    """A finished webhook delivery of a message event joins that message's timeline."""
    event = delivery.event
    if not event.type.startswith("message."):
        return
    message = (
        Message.objects.for_workspace(delivery.workspace_id).filter(pk=event.data.get("id")).first()
    )
    if message is None:
        return
    event_add(
        message,
        "webhook_delivered" if succeeded else "webhook_failed",
        {
            "event_id": event.id,
            "event_type": event.type,
            "endpoint": delivery.endpoint_id,
            "delivery": delivery.id,
            "attempts": delivery.attempt,
            "response_code": delivery.response_code,
        },
    )
