"""The message page's provider log section: what we sent the provider and what it answered."""

import json

from workspaces import clock

from ..models import Message
from ..provider_log import provider_log_list


def provider_log_rows(message: Message) -> list[dict]:
    """The message's provider exchanges, oldest first, already redacted (the page escapes them)."""
    return [
        {
            "at": clock.isoformat(e.at),
            "kind": e.kind,
            "method": e.method,
            "url": e.url,
            "status_code": e.status_code,
            "headers": json.dumps(e.headers, indent=2, ensure_ascii=False),
            "body": e.body,
        }
        for e in provider_log_list(message=message)
    ]
