"""What every console page's layout needs: the seat, the navigation, the other workspaces."""

from .access import memberships_of
from .navigation import nav_for


def console(request) -> dict:
    """Context for the layout; empty outside a workspace page."""
    seat = getattr(request, "seat", None)
    if seat is None:
        return {}
    return {
        "seat": seat,
        "nav": nav_for(seat, request.path),
        "switchable": [
            m for m in memberships_of(request.user) if m.workspace_id != seat.workspace_id
        ],
    }
