"""The one clock every service reads, so tests can move time with time-machine."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return timezone.now()


def isoformat(moment: datetime | None) -> str | None:
    """Render a time as CONTRACT §0 wants it: ISO 8601, UTC, with a `Z`."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    # strftime's %Y leaves years before 1000 unpadded on Linux ("112-03-23"), which no client
    # reads as ISO 8601: the year is padded by hand.
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.%fZ")


def workspace_zone(workspace) -> ZoneInfo:
    """The workspace's IANA zone (`timezone`; UTC when it has none or an unknown one)."""
    try:
        return ZoneInfo(getattr(workspace, "timezone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
