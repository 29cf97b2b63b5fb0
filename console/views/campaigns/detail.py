"""Campaign: one campaign's live progress and stats identity (from its kept counters), delivery
over time and failures by code (the outcome summary kept by triggers, campaigns/reports.py),
its report as CSV, and `Pause`, `Resume`, `Stop`, `Resend failed` and, for a draft, `Review`
and `Launch`: every action through the API's own services, audited with the member as actor."""

import json
from datetime import timedelta

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaigns.messages import COUNTED_STATUSES
from campaigns.models import Campaign
from campaigns.reports import (
    OUTCOMES,
    REPORT_FIELDS,
    delivery_by_hour,
    failures_by_code,
    report_rows,
)
from campaigns.resources import campaign_stats
from campaigns.services.launch import campaign_dry_run, campaign_launch
from campaigns.services.lifecycle import campaign_pause, campaign_resume, campaign_stop
from campaigns.services.resend import RESENT_STATUSES, campaign_resend_failed
from messaging.stats import FINAL_FOR_PROGRESS
from workspaces import clock
from workspaces.csvsafe import csv_line
from workspaces.errors import TernError
from workspaces.services import member_actor

from ...access import console_page
from ...feedback import show_error, show_success

# While a campaign may still change, its page polls its live part; stopped, or completed with
# every report in (or due for too long), it stops.
LIVE = frozenset({Campaign.SCHEDULED, Campaign.RUNNING, Campaign.PAUSED})
STOPPABLE = LIVE
REPORTS_DUE = timedelta(hours=1)
CHANGED_SINCE_REVIEW = "The audience or the cost changed since your review: review it again."


class CampaignIdConverter:
    """`cmp_…` only, so the Campaign page's paths never take `campaigns/new/`, whatever order."""

    regex = r"cmp_[0-9a-z]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def campaign_get(seat, campaign_id: str) -> Campaign:
    """The campaign of the seat's workspace and mode (the API's scope), or 404."""
    return get_object_or_404(Campaign.objects.visible_to(seat), pk=campaign_id)


def progress_of(campaign: Campaign) -> dict:
    """The API's stats (kept counters) as the page shows them: each status, the skips by code,
    and the progress bar's final ÷ messages (recipients less skipped)."""
    stats = campaign_stats(campaign)
    skipped = sum(stats["skipped"].values())
    return {
        "stats": stats,
        "statuses": [(status, stats[status]) for status in COUNTED_STATUSES],
        "skips": sorted(stats["skipped"].items()),
        "skipped": skipped,
        "total": max(stats["recipients"] - skipped, 0),
        "done": sum(stats[status] for status in FINAL_FOR_PROGRESS),
        "stopping": stats["scheduled"] + stats["queued"],
        "stopping_text": stop_text(stats["scheduled"] + stats["queued"]),
        "failed": sum(stats[status] for status in RESENT_STATUSES),
        "live": still_moving(campaign, stats),
    }


def still_moving(campaign: Campaign, stats: dict) -> bool:
    """Whether the page keeps polling: while the campaign may change, and after it completed
    while messages handed to the carrier still wait for their report (for REPORTS_DUE at most:
    some carriers never report)."""
    if campaign.status in LIVE:
        return True
    waiting = stats["sending"] + stats["sent"]
    recent = campaign.completed_at and clock.now() - campaign.completed_at < REPORTS_DUE
    return bool(campaign.status == Campaign.COMPLETED and waiting and recent)


def stop_text(count: int) -> str:
    """What `Stop` will do, named in the confirm dialog."""
    noun = "message" if count == 1 else "messages"
    return f"{count} {noun} not yet sent (scheduled or queued) will stop and be canceled."


def percent(done: int, total: int) -> int:
    """Whole percent, 100 when there is nothing to send."""
    return int(done * 100 / total) if total else 100


def actions_for(seat, campaign: Campaign, progress: dict) -> dict:
    """Which buttons the page shows: the state allows it and the role holds campaigns:write."""
    write, status = seat.can("campaigns:write"), campaign.status
    return {
        "pause": write and status == Campaign.RUNNING,
        "resume": write and status == Campaign.PAUSED,
        "stop": write and status in STOPPABLE,
        "resend": write and status != Campaign.DRAFT and progress["failed"] > 0,
        "launch": write and status == Campaign.DRAFT,
    }


def delivery_chart(campaign: Campaign) -> dict:
    """Delivered, undelivered and failed per hour (workspace time), stacked, with its table."""
    found = delivery_by_hour(campaign)
    hours = sorted({hour for hour, _, _ in found})
    counts = {(hour, status): n for hour, status, n in found}
    labels = [timezone.localtime(hour).strftime("%Y-%m-%d %H:%M") for hour in hours]
    return {
        "type": "bar",
        "stacked": True,
        "labels": labels,
        "datasets": [
            {"label": s.capitalize(), "data": [counts.get((h, s), 0) for h in hours]}
            for s in OUTCOMES
        ],
        "rows": [
            {"hour": label, "counts": [counts.get((hour, s), 0) for s in OUTCOMES]}
            for label, hour in zip(labels, hours, strict=True)
        ],
    }


def live_context(request, campaign: Campaign) -> dict:
    """What the live part shows with delivery over time and failures by code (both from the
    summary table, never the messages), and (when the status moved since the page was drawn)
    the action buttons again, swapped out of band."""
    progress = progress_of(campaign)
    chart = delivery_chart(campaign) if campaign.launched_at else None
    return {
        "campaign": campaign,
        "progress": progress,
        "percent": percent(progress["done"], progress["total"]),
        "actions": actions_for(request.seat, campaign, progress),
        "moved": request.GET.get("seen", campaign.status) != campaign.status,
        "chart": chart,
        # In an attribute, not a <script>: htmx drops scripts from what a poll swaps in (CSP).
        "chart_json": json.dumps(chart) if chart and chart["rows"] else "",
        "failures": failures_by_code(campaign) if progress["failed"] else [],
    }


def review_of(campaign: Campaign) -> dict:
    """The dry run, with a signature of what it found (a launch checks it still holds)."""
    found = campaign_dry_run(campaign=campaign)
    skips = ",".join(f"{code}={n}" for code, n in sorted(found["skipped"].items()))
    found["signature"] = f"{found['recipients']}|{found['messages']}|{skips}|{found['cost']}"
    found["skips"] = sorted(found["skipped"].items())
    return found


@console_page("campaigns:read")
def campaign_detail(request, campaign_id: str):
    """The campaign's page; `?review=1` on a draft shows its dry run and `Launch`."""
    seat = request.seat
    campaign = campaign_get(seat, campaign_id)
    context = live_context(request, campaign)
    if campaign.status == Campaign.DRAFT and request.GET.get("review"):
        try:
            context["review"] = review_of(campaign)
        except TernError as error:
            context["review_error"] = error
    return render(request, "console/campaign.html", context)


@console_page("campaigns:read")
def campaign_live(request, campaign_id: str):
    """The polled part: progress bar and stats identity, with the chart's data and the tables
    the page takes out of band (its poll stops once final)."""
    campaign = campaign_get(request.seat, campaign_id)
    return render(request, "console/campaign_poll.html", live_context(request, campaign))


def _page(seat, campaign: Campaign, query: str = ""):
    """A redirect to the campaign's page (with a query, e.g. its review)."""
    kwargs = {"slug": seat.workspace.slug, "campaign_id": campaign.pk}
    return redirect(reverse("console:campaign", kwargs=kwargs) + query)


def _transition(request, campaign_id: str, service, done: str):
    """Run a lifecycle service as the member; the catalogue's error on a state it refuses."""
    seat = request.seat
    campaign = campaign_get(seat, campaign_id)
    try:
        service(campaign=campaign, actor=member_actor(seat.member))
    except TernError as error:
        show_error(request, error)
    else:
        show_success(request, f"Campaign {campaign.name} {done}.")
    return _page(seat, campaign)


@console_page("campaigns:read", post="campaigns:write")
@require_POST
def campaign_pause_view(request, campaign_id: str):
    """Running → paused (queued messages wait)."""
    return _transition(request, campaign_id, campaign_pause, "paused")


@console_page("campaigns:read", post="campaigns:write")
@require_POST
def campaign_resume_view(request, campaign_id: str):
    """Paused → running."""
    return _transition(request, campaign_id, campaign_resume, "resumed")


@console_page("campaigns:read", post="campaigns:write")
@require_POST
def campaign_stop_view(request, campaign_id: str):
    """Scheduled, running or paused → stopped: unsent messages canceled (`stopped_by_user`)."""
    return _transition(request, campaign_id, campaign_stop, "stopped")


@console_page("campaigns:read", post="campaigns:write")
@require_POST
def campaign_resend_view(request, campaign_id: str):
    """A new draft of this campaign's failed recipients; its page reviews and launches it."""
    seat = request.seat
    campaign = campaign_get(seat, campaign_id)
    try:
        draft = campaign_resend_failed(campaign=campaign, actor=member_actor(seat.member))
    except TernError as error:
        show_error(request, error)
        return _page(seat, campaign)
    show_success(request, "A new campaign of the failed recipients: review it, then launch it.")
    return _page(seat, draft, "?review=1")


@console_page("campaigns:read", post="campaigns:write")
@require_POST
def campaign_launch_view(request, campaign_id: str):
    """Launch a draft from a review that still holds (else its new review is shown)."""
    seat = request.seat
    campaign = campaign_get(seat, campaign_id)
    try:
        if review_of(campaign)["signature"] != request.POST.get("reviewed", ""):
            raise TernError("invalid_state", CHANGED_SINCE_REVIEW)
        campaign_launch(campaign=campaign, actor=member_actor(seat.member))
    except TernError as error:
        show_error(request, error)
        return _page(seat, campaign, "?review=1" if campaign.status == Campaign.DRAFT else "")
    show_success(request, f"Campaign {campaign.name} launched.")
    return _page(seat, campaign)


@console_page("campaigns:read")
def campaign_report(request, campaign_id: str):
    """Each recipient's phone, status, error code and skip reason, as CSV streamed row by row
    (cells a spreadsheet would run as formulas are neutralised by csv_line)."""
    campaign = campaign_get(request.seat, campaign_id)

    def lines():
        yield csv_line(REPORT_FIELDS)
        for row in report_rows(campaign):
            yield csv_line(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{campaign.pk}-report.csv"'
    return response
