"""The `messages` export kind, registered with compliance from MessagingConfig.ready()."""

from collections.abc import Iterator
from datetime import date

from compliance.exports.kinds import (
    blank_as_null,
    created_between,
    register_export_kind,
    stream_values,
)

from .models import Message

# Export field → column: the message resource of CONTRACT §4 without its timeline.
MESSAGE_COLUMNS = {
    "id": "id",
    "direction": "direction",
    "status": "status",
    "to": "to_number",
    "from": "from_number",
    "body": "body",
    "category": "category",
    "segments": "segments",
    "encoding": "encoding",
    "price": "price",
    "currency": "currency",
    "campaign": blank_as_null("campaign_id"),
    "provider": "provider",
    "provider_message_id": "provider_message_id",
    "error": "error",
    "metadata": "metadata",
    "send_at": "send_at",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def message_rows(workspace_id: str, date_from: date, date_to: date) -> Iterator[dict]:
    """The workspace's live messages, outbound and inbound, in the order they were created.

    Test-mode messages (the test provider only, never billed) stay out of a compliance record.
    """
    queryset = created_between(Message, workspace_id, date_from, date_to).filter(test=False)
    return stream_values(queryset.order_by("created_at", "id"), MESSAGE_COLUMNS)


def register() -> None:
    """Offer `messages` to compliance's export registry."""
    register_export_kind("messages", fields=list(MESSAGE_COLUMNS), rows=message_rows)
