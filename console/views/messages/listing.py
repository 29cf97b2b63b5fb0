"""Messages (search, filters, cursor pages) and Refused requests (the §13 log, a chart by code).

Both read through the API's own filter sets and cursor pagination: one filter implementation.
"""

from django import forms
from django.db.models import Sum
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from messaging.api.views import REFUSAL_CODES, MessageFilter, RefusalFilter
from messaging.models import Message, Refusal, Status
from messaging.search import message_search, message_with_error
from workspaces.errors import CATALOGUE, TernError

from ...access import console_page
from ..lists import api_filtered, cursor_page, day_range, invalid_filters

LIST_COLUMNS = (
    "id",
    "workspace_id",
    "test",
    "direction",
    "status",
    "to_number",
    "from_number",
    "body",
    "segments",
    "price",
    "error",
    "campaign_id",
    "created_at",
)


def _choices(values, any_label="Any") -> list[tuple[str, str]]:
    return [("", any_label), *((v, v) for v in values)]


class DateRangeForm(forms.Form):
    """Whole days in the workspace's time zone, both ends included."""

    since = forms.DateField(
        label="From date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class MessageSearchForm(DateRangeForm):
    """The Messages page's search and filters (GET)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="A number, a message id (msg_…) or words of the message.",
    )
    status = forms.ChoiceField(label="Status", required=False, choices=_choices(Status.values))
    direction = forms.ChoiceField(
        label="Direction", required=False, choices=_choices([Message.OUTBOUND, Message.INBOUND])
    )
    campaign = forms.CharField(label="Campaign", required=False, max_length=40)
    error_code = forms.ChoiceField(
        label="Error code", required=False, choices=_choices(sorted(CATALOGUE))
    )
    field_order = ["q", "status", "direction", "campaign", "error_code", "since", "until"]


def message_rows(seat, cleaned: dict):
    """The seat's messages (its workspace, the mode shown) matching the search and filters."""
    data = {k: cleaned[k] for k in ("status", "direction", "campaign") if cleaned.get(k)}
    data.update(
        day_range(cleaned.get("since"), cleaned.get("until"), timezone.get_current_timezone())
    )
    rows = Message.objects.visible_to(seat).only(*LIST_COLUMNS)
    rows = api_filtered(MessageFilter, seat, rows, data)
    rows = message_search(
        rows, text=cleaned.get("q", ""), default_country=seat.workspace.default_country
    )
    if cleaned.get("error_code"):
        rows = message_with_error(rows, code=cleaned["error_code"])
    return rows


@console_page("messages:read")
def message_list(request):
    """Newest first; search by number, id or text; filter; follow a row to its page."""
    seat = request.seat
    form = MessageSearchForm(request.GET)
    context = {"form": form, "rows": [], "next": None, "previous": None, "error": None}
    context["base"] = reverse("console:messages", kwargs={"slug": seat.workspace.slug})
    try:
        if not form.is_valid():
            raise invalid_filters(form)
        rows = message_rows(seat, form.cleaned_data)
        context["rows"], context["next"], context["previous"] = cursor_page(request, rows)
    except TernError as error:
        context["error"] = error
    context["filtered"] = any(v for k, v in request.GET.items() if k != "cursor")
    return render(request, "console/messages.html", context)


class RefusalFilterForm(DateRangeForm):
    """The Refused requests page's filters (GET)."""

    code = forms.ChoiceField(label="Code", required=False, choices=_choices(REFUSAL_CODES))
    field_order = ["code", "since", "until"]


def refusal_rows(seat, cleaned: dict):
    """The seat's refused sends (its workspace, the mode shown), as GET /api/v1/refusals reads."""
    data = {"code": cleaned["code"]} if cleaned.get("code") else {}
    data.update(
        day_range(cleaned.get("since"), cleaned.get("until"), timezone.get_current_timezone())
    )
    return api_filtered(RefusalFilter, seat, Refusal.objects.visible_to(seat), data)


def refusal_chart(rows) -> dict:
    """Refused sends by code (a 429 row counts its minute's requests), most first."""
    counts = list(rows.order_by().values("code").annotate(n=Sum("count")).order_by("-n", "code"))
    return {
        "type": "bar",
        "labels": [c["code"] for c in counts],
        "datasets": [{"label": "Refused sends", "data": [c["n"] for c in counts]}],
        "rows": counts,
    }


@console_page("messages:read")
def refusal_list(request):
    """The §13 log of refused API and console sends, filtered by code and dates, charted."""
    seat = request.seat
    form = RefusalFilterForm(request.GET)
    context = {"form": form, "rows": [], "next": None, "previous": None, "error": None}
    try:
        if not form.is_valid():
            raise invalid_filters(form)
        rows = refusal_rows(seat, form.cleaned_data)
        context["chart"] = refusal_chart(rows)
        context["rows"], context["next"], context["previous"] = cursor_page(request, rows)
    except TernError as error:
        context["error"] = error
    return render(request, "console/refusals.html", context)
