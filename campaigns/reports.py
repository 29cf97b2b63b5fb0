"""Reads of one campaign's results for its page and report: its delivery over time, failures by
code, and every recipient's outcome. All are bounded by the campaign, never the workspace: each
reads the campaign's own rows through the partial campaign indexes of messaging_message."""

from collections.abc import Iterator
from datetime import UTC

from django.db.models import Count
from django.db.models.fields.json import KT
from django.db.models.functions import TruncHour

from messaging.models import Message, Status

from .models import Campaign, CampaignSkip

OUTCOMES = (Status.DELIVERED, Status.UNDELIVERED, Status.FAILED)
FAILED = (Status.FAILED, Status.UNDELIVERED)
REPORT_FIELDS = ("phone", "status", "error_code", "skip_reason")


def delivery_by_hour(campaign: Campaign) -> list[tuple]:
    """(UTC hour, status, count) of the campaign's delivered, undelivered and failed messages by
    the hour they reached it (their last change): an index-only read of msg_campaign_updated.

    Campaign ids are unique across workspaces and the campaign was found through the seat's
    workspace, so no workspace filter is needed (one would send the scan to the table)."""
    rows = (
        Message.objects.filter(campaign_id=campaign.pk, status__in=OUTCOMES)
        .annotate(hour=TruncHour("updated_at", tzinfo=UTC))
        .values("hour", "status")
        .annotate(n=Count("status"))
        .order_by("hour", "status")
    )
    return [(r["hour"], r["status"], r["n"]) for r in rows]


def failures_by_code(campaign: Campaign) -> list[dict]:
    """The campaign's failed and undelivered messages by error code, most first (only those
    rows, found through msg_campaign_status)."""
    rows = (
        Message.objects.filter(campaign_id=campaign.pk, status__in=FAILED)
        .annotate(code=KT("error__code"))
        .values("code")
        .annotate(n=Count("status"))
        .order_by("-n", "code")
    )
    return [{"code": r["code"] or "unknown", "n": r["n"]} for r in rows]


def report_rows(campaign: Campaign) -> Iterator[tuple]:
    """Every recipient of the campaign: its messages, then those skipped with the code why,
    streamed from server-side cursors (constant memory, whatever the campaign's size)."""
    messages = (
        Message.objects.filter(campaign_id=campaign.pk)
        .annotate(code=KT("error__code"))
        .values_list("to_number", "status", "code")
        .order_by()
    )
    for phone, status, code in messages.iterator(chunk_size=2000):
        yield phone, status, code or "", ""
    skips = CampaignSkip.objects.filter(campaign=campaign).values_list("phone", "code")
    for phone, code in skips.order_by("id").iterator(chunk_size=2000):
        yield phone, "skipped", "", code
