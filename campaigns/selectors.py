"""Reads of campaigns data."""

from .models import Contact


def contact_timezone(workspace_id: str, phone: str) -> str | None:
    """The time zone of the workspace's contact with this number, if it has one set."""
    zone = (
        Contact.objects.for_workspace(workspace_id)
        .filter(phone=phone)
        .values_list("timezone", flat=True)
        .first()
    )
    return zone or None
