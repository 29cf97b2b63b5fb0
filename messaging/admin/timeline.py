"""The message page's timeline and error block: events as a person reads them."""

import json
from dataclasses import dataclass

from workspaces import clock
from workspaces.errors import CATALOGUE

# Events whose detail is what the provider told us (its ids, statuses, error codes).
PROVIDER_EVENTS = frozenset(
    {
        "sent_to_carrier",
        "delivered",
        "undelivered",
        "failed",
        "retry_scheduled",
        "reconciled",
        "out_of_order_status_ignored",
        "received",
    }
)


def _short(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def human_gap(seconds: float) -> str:
    """A gap between two timeline steps as a person reads it: "+350 ms", "+1.2 s", "+3 min"."""
    if seconds < 1:
        return f"+{round(seconds * 1000)} ms"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"+{_short(seconds / size)} {unit}"
    return f"+{_short(seconds)} s"


def _pretty(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@dataclass(frozen=True)
class TimelineRow:
    """One event as the detail page shows it."""

    event: str
    at: str
    gap: str
    since_start: str
    detail: str
    has_detail: bool


def timeline_rows(events) -> list[TimelineRow]:
    """The events in order, each with its UTC time and the gap from the step before."""
    rows, first, previous = [], None, None
    for event in events:
        first = first or event.at
        gap = "" if previous is None else human_gap((event.at - previous).total_seconds())
        since = "" if previous is None else human_gap((event.at - first).total_seconds())
        rows.append(
            TimelineRow(
                event=event.event,
                at=clock.isoformat(event.at),
                gap=gap,
                since_start=since,
                detail=_pretty(event.detail or {}),
                has_detail=bool(event.detail),
            )
        )
        previous = event.at
    return rows


def error_block(error: dict | None) -> dict | None:
    """The message's error with the catalogue's current fix, retry guidance and class."""
    if not error:
        return None
    entry = CATALOGUE.get(error.get("code"))
    return {
        "code": error.get("code"),
        "message": error.get("message") or (entry.message if entry else ""),
        "fix": entry.fix if entry else error.get("fix", ""),
        "retry": entry.retry if entry else error.get("retry", ""),
        "delivery_class": entry.delivery_class if entry else None,
        "when": entry.when if entry else "",
        "provider_code": error.get("provider_code"),
        "in_catalogue": entry is not None,
    }
