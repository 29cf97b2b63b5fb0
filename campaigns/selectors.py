"""Reads of campaigns data."""

from messaging.models import Message

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


def latest_campaign_message(*, workspace_id: str, phone: str, since) -> Message | None:
    """The newest campaign message the workspace sent the number since then, if any."""
    sent = Message.objects.for_workspace(workspace_id).filter(
        direction=Message.OUTBOUND, to_number=phone, created_at__gte=since
    )
    return sent.exclude(campaign_id="").order_by("-created_at", "-id").first()
