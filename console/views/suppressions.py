"""Suppressions (CONTRACT §6, §12): list and search, `Add suppression`, and `Remove suppression`
with a reason, for owner/admin only. Reads through the API's filter set; writes through services.
"""

from django import forms
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse

from compliance import services
from compliance.api.serializers import SuppressionCreateSerializer
from compliance.api.views import SuppressionFilter
from compliance.models import Suppression
from workspaces.api.base import client_ip
from workspaces.errors import TernError
from workspaces.services import member_actor

from ..access import MANAGER, console_page
from ..feedback import show_error, show_success
from ..forms import FormState, field_errors
from .lists import api_filtered, cursor_page, invalid_filters

ANY = [("", "Any")]


class SuppressionSearchForm(forms.Form):
    """The list's search (a number, or a suppression id) and the API's filters (GET)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=40,
        help_text="A phone number (+14155550100, or national in the workspace's country) or sup_….",
    )
    active = forms.ChoiceField(
        label="Active",
        required=False,
        choices=[*ANY, ("true", "Active"), ("false", "Removed")],
    )
    scope = forms.ChoiceField(
        label="Scope",
        required=False,
        choices=[*ANY, *((s, s) for s in (Suppression.WORKSPACE, Suppression.CAMPAIGN))],
    )
    source = forms.ChoiceField(
        label="Source", required=False, choices=[*ANY, *((s, s) for s in Suppression.SOURCES)]
    )


def suppression_rows(seat, cleaned: dict):
    """The workspace's suppressions matching the search, filtered as `GET /suppressions` is."""
    data = {k: cleaned[k] for k in ("active", "scope", "source") if cleaned.get(k)}
    q = cleaned.get("q", "").strip()
    rows = Suppression.objects.for_workspace(seat.workspace_id)
    if q.startswith("sup_"):
        rows = rows.filter(pk=q)
    elif q:
        data["phone"] = q
    return api_filtered(SuppressionFilter, seat, rows, data)


def number_url(slug: str, phone: str) -> str:
    """The Number page of this phone (its path, before that page's URL name exists)."""
    try:
        return reverse("console:number", kwargs={"slug": slug, "e164": phone})
    except NoReverseMatch:
        return f"/w/{slug}/numbers/{phone}/"


def render_page(request, *, add: FormState | None = None, status: int = 200):
    """The page: search, the rows of this cursor page, and the add form as posted."""
    seat = request.seat
    form = SuppressionSearchForm(request.GET)
    context = {"form": form, "rows": [], "next": None, "previous": None, "error": None}
    try:
        if not form.is_valid():
            raise invalid_filters(form)
        rows, context["next"], context["previous"] = cursor_page(
            request, suppression_rows(seat, form.cleaned_data)
        )
    except TernError as error:
        rows, context["error"] = [], error
    slug = seat.workspace.slug
    context["rows"] = [(s, number_url(slug, s.phone)) for s in rows]
    context["filtered"] = any(v for k, v in request.GET.items() if k != "cursor")
    context["add"] = add or FormState()
    context["can_add"] = seat.can("suppressions:write")
    context["can_remove"] = seat.is_manager
    return render(request, "console/suppressions.html", context, status=status)


@console_page("suppressions:read", post="suppressions:write")
def suppression_list(request):
    """GET: list and search. POST: add a workspace suppression through the API's service."""
    if request.method != "POST":
        return render_page(request)
    seat = request.seat
    values = {k: request.POST.get(k, "").strip() for k in ("phone", "reason")}
    try:
        suppression, created = suppression_add(request, values)
    except TernError as error:
        show_error(request, error)
        failed = FormState(values=values, errors=field_errors(error.details))
        return render_page(request, add=failed, status=error.http_status)
    if created:
        show_success(request, f"{suppression.phone} is suppressed ({suppression.id}).")
    else:
        show_success(request, f"{suppression.phone} is already suppressed ({suppression.id}).")
    return redirect("console:suppressions", slug=seat.workspace.slug)


def suppression_add(request, values: dict) -> tuple[Suppression, bool]:
    """Judge the fields with the API's serializer, then create through its service (audited)."""
    seat = request.seat
    form = SuppressionCreateSerializer(data=values, context={"workspace": seat.workspace})
    if not form.is_valid():
        details = field_errors(form.errors)
        if "phone" in details:  # the catalogue's own words for a number it cannot read
            raise TernError("invalid_number", details=details)
        raise TernError("validation_error", details=details)
    data = form.validated_data
    return services.suppression_create(
        workspace_id=seat.workspace_id,
        phone=data["phone"],
        source="manual",
        actor=member_actor(seat.member),
        reason=data["reason"],
        scope=data["scope"],
        campaign_id=data["campaign"],
        ip=client_ip(request),
    )


@console_page("suppressions:read", post=MANAGER)
def suppression_remove(request, suppression_id: str):
    """GET: ask for the reason (owner/admin). POST: lift the suppression for it (audited)."""
    seat = request.seat
    seat.require_manager()  # the question is only for those who may answer it
    suppression = get_object_or_404(
        Suppression.objects.for_workspace(seat.workspace_id), pk=suppression_id
    )
    if not suppression.active:
        show_success(
            request, f"Suppression {suppression.id} of {suppression.phone} is already removed."
        )
        return redirect("console:suppressions", slug=seat.workspace.slug)
    if request.method != "POST":
        return render_remove(request, suppression)
    reason = request.POST.get("reason", "")
    try:
        services.suppression_remove(
            suppression=suppression,
            actor=member_actor(seat.member),
            reason=reason,
            ip=client_ip(request),
        )
    except TernError as error:
        show_error(request, error)  # shown above the form, in the catalogue's words
        return render_remove(request, suppression, reason=reason, error=error)
    show_success(request, f"Suppression {suppression.id} of {suppression.phone} removed.")
    return redirect("console:suppressions", slug=seat.workspace.slug)


def render_remove(request, suppression, *, reason: str = "", error: TernError | None = None):
    """The removal's question, with the reason as posted and the catalogue's error if any."""
    context = {
        "suppression": suppression,
        "number_url": number_url(request.seat.workspace.slug, suppression.phone),
        "reason": reason,
        "error": error,
    }
    status = error.http_status if error else 200
    return render(request, "console/suppression_remove.html", context, status=status)
