"""Audit log (CONTRACT §9, §12): read-only, newest first, filtered as `GET /api/v1/audit-events`
filters (through its selector and filter set), with `Verify chain` run on the worker.

Who may press `Verify chain`: everyone who may read the log (`audit:read`, every role). It changes
nothing in the workspace: it only reads the chain and keeps its verdict, and a reader who doubts
what they read is exactly who should be able to check it.
"""

import json

from django import forms
from django.shortcuts import redirect, render
from django.utils import timezone

from workspaces.api.views import AuditEventFilter
from workspaces.chain_checks import chain_check_latest, chain_check_request
from workspaces.errors import TernError
from workspaces.models import AuditChainCheck
from workspaces.selectors import audit_event_list
from workspaces.services import member_actor

from ..access import console_page
from .lists import api_filtered, cursor_page, day_range, invalid_filters

# Every action Tern records (CONTRACT §9 and §11), for the filter's select.
KNOWN_ACTIONS = (
    "campaign.created",
    "campaign.launched",
    "campaign.paused",
    "campaign.resumed",
    "campaign.stopped",
    "consent.granted",
    "consent.revoked",
    "contact.deleted",
    "contact.updated",
    "contact_import.completed",
    "contact_import.created",
    "contact_import.failed",
    "contact_import.started",
    "export.created",
    "export.downloaded",
    "invitation.revoked",
    "member.invited",
    "member.joined",
    "member.left",
    "member.removed",
    "member.role_changed",
    "message.review_closed",
    "ownership.transferred",
    "sender.added",
    "sender.removed",
    "suppression.created",
    "suppression.removed",
    "token.created",
    "token.revoked",
    "two_factor.reset",
    "webhook_delivery.replayed",
    "webhook_endpoint.created",
    "webhook_endpoint.deleted",
    "webhook_endpoint.disabled",
    "webhook_endpoint.replayed",
    "webhook_endpoint.secret_rotated",
    "webhook_endpoint.updated",
    "workspace.created",
    "workspace.updated",
)


class AuditFilterForm(forms.Form):
    """The log's filters (GET): action, actor, and whole days in the workspace's time zone."""

    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any"), *((a, a) for a in KNOWN_ACTIONS)]
    )
    actor = forms.CharField(
        label="Actor",
        required=False,
        max_length=254,
        help_text="An email, a token's name or id, or “system”.",
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def audit_rows(seat, cleaned: dict):
    """The workspace's events as the API's selector and filter set give them."""
    data = {k: cleaned[k] for k in ("action", "actor") if cleaned.get(k)}
    zone = timezone.get_current_timezone()
    data.update(day_range(cleaned.get("since"), cleaned.get("until"), zone))
    events = audit_event_list(workspace=seat.workspace)
    return api_filtered(AuditEventFilter, seat, events, data)


def _pretty(value) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def event_view(event) -> dict:
    """One event as the page shows it: its fields, before/after as indented JSON."""
    return {"event": event, "before": _pretty(event.before), "after": _pretty(event.after)}


def check_view(check: AuditChainCheck | None) -> dict:
    """The latest chain check as its panel shows it (polling while it is unfinished)."""
    unfinished = check is not None and check.status != AuditChainCheck.DONE
    return {"check": check, "polling": unfinished}


@console_page("audit:read")
def audit_list(request):
    """Newest first, filtered; the latest `Verify chain` verdict above the list."""
    seat = request.seat
    form = AuditFilterForm(request.GET)
    context = {"form": form, "rows": [], "next": None, "previous": None, "error": None}
    try:
        if not form.is_valid():
            raise invalid_filters(form)
        events, context["next"], context["previous"] = cursor_page(
            request, audit_rows(seat, form.cleaned_data)
        )
        context["rows"] = [event_view(e) for e in events]
    except TernError as error:
        context["error"] = error
    context["filtered"] = any(v for k, v in request.GET.items() if k != "cursor")
    context["chain"] = check_view(chain_check_latest(workspace_id=seat.workspace_id))
    return render(request, "console/audit.html", context)


@console_page("audit:read")
def audit_verify(request):
    """POST: queue a chain check on the worker. GET: its panel (what the panel's polling reads)."""
    seat = request.seat
    if request.method == "POST":
        chain_check_request(workspace_id=seat.workspace_id, actor=member_actor(seat.member))
    if not request.headers.get("HX-Request"):  # without JavaScript: the whole page shows it
        return redirect("console:audit", slug=seat.workspace.slug)
    context = {"chain": check_view(chain_check_latest(workspace_id=seat.workspace_id))}
    return render(request, "console/partials/audit_chain.html", context)
