"""Reads of one campaign's results for its page and report: its delivery over time and failures
by code from the summary kept by triggers (messaging's CampaignOutcomeHour: a few rows per hour of
the campaign, whatever its size), and every recipient's outcome for the report, streamed."""

from collections.abc import Iterator

from django.db.models import Sum
from django.db.models.fields.json import KT

from messaging.models import CampaignOutcomeHour, Message, Status

from .models import Campaign, CampaignSkip

OUTCOMES = (Status.DELIVERED, Status.UNDELIVERED, Status.FAILED)
FAILED = (Status.FAILED, Status.UNDELIVERED)
REPORT_FIELDS = ("phone", "status", "error_code", "skip_reason")


def delivery_by_hour(campaign: Campaign) -> list[tuple]:
    """(UTC hour, status, count) of the campaign's delivered, undelivered and failed messages by
    the hour they reached it, from the summary the triggers keep (never the messages)."""
    rows = (
        CampaignOutcomeHour.objects.filter(campaign_id=campaign.pk)
        .values("hour", "status")
        .annotate(total=Sum("n"))
        .order_by("hour", "status")
    )
    return [(r["hour"], r["status"], r["total"]) for r in rows if r["total"]]


def failures_by_code(campaign: Campaign) -> list[dict]:
    """The campaign's failed and undelivered messages by error code, most first (the summary)."""
    rows = (
        CampaignOutcomeHour.objects.filter(campaign_id=campaign.pk, status__in=FAILED)
        .values("code")
        .annotate(total=Sum("n"))
        .order_by("-total", "code")
    )
    return [{"code": r["code"], "n": r["total"]} for r in rows if r["total"]]


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
