"""Console times in the workspace's time zone (CONTRACT §12): shown, and read from forms."""

from functools import wraps
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone


def workspace_zone(workspace) -> ZoneInfo:
    """The workspace's IANA zone (`timezone`, UTC when unset or unknown)."""
    try:
        return ZoneInfo(getattr(workspace, "timezone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_workspace_time(view):
    """Run a console view (after `console_page`) with the workspace's zone as the current one,
    so templates show its times and naive `datetime-local` inputs are read in it."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(workspace_zone(request.seat.workspace)):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            return response

    return wrapped
