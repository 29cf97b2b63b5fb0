"""Exports (CONTRACT §9, §12): the list with live progress, `Create export` (owner/admin), and
`Download` streamed through the API's service (audited `export.downloaded`).

The form's fields go to the API's export serializer as they are, and its `save` creates through
the API's service, as the API does: a kind registered later, with fields of its own, needs no
change here.
"""

from datetime import UTC, datetime, timedelta

from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from compliance.api.serializers import ExportCreateSerializer
from compliance.exports.files import FORMATS
from compliance.exports.kinds import export_kinds
from compliance.exports.services import export_open
from compliance.models import Export
from workspaces.api.base import client_ip
from workspaces.errors import TernError
from workspaces.services import member_actor

from ..access import MANAGER, console_page
from ..feedback import show_error, show_success
from ..forms import FormState, validation_error
from .lists import cursor_page

FIELDS = ("kind", "format", "from", "to")
NUMBER_KIND, NUMBER_FIELDS = "number", ("phone", "as_of")  # kind `number`: one phone, a moment
UNFINISHED = (Export.PENDING, Export.RUNNING)


def export_get(seat, export_id: str) -> Export:
    """The workspace's export (exports are not split by mode), or 404."""
    return get_object_or_404(Export.objects.for_workspace(seat.workspace_id), pk=export_id)


def export_view(export: Export, highlighted: str = "") -> dict:
    """What a row shows: the export, whether it is still moving, its manifest as pairs."""
    manifest = export.manifest or {}
    head = manifest.get("audit_chain_head") or {}
    return {
        "export": export,
        "polling": export.status in UNFINISHED,
        "highlighted": export.id == highlighted,
        "filters": sorted((manifest.get("filters") or {}).items()),
        "manifest": manifest,
        "head": head,
    }


def default_values() -> dict:
    """The form's first values: CSV of the last 30 days (UTC dates, as the API reads them)."""
    today = timezone.now().astimezone(UTC).date()
    return {"format": "csv", "from": (today - timedelta(days=30)).isoformat(), "to": str(today)}


def render_page(request, *, create: FormState | None = None, status: int = 200):
    """The page: the form (owner/admin), then the exports newest first, one cursor page."""
    seat = request.seat
    rows = Export.objects.for_workspace(seat.workspace_id)
    highlighted = request.GET.get("export", "")
    context = {"error": None, "rows": [], "next": None, "previous": None}
    try:
        exports, context["next"], context["previous"] = cursor_page(request, rows, size=20)
    except TernError as error:
        exports, context["error"] = [], error
    context["rows"] = [export_view(e, highlighted) for e in exports]
    context["can_create"] = seat.is_manager and seat.can("exports:create")
    context["create"] = create or FormState(values=default_values())
    context["kinds"], context["formats"] = export_kinds(), FORMATS
    context["number_kind"] = NUMBER_KIND
    return render(request, "console/exports.html", context, status=status)


@console_page("exports:read", post=MANAGER)
def export_list(request):
    """GET: the exports and their progress. POST: create one (owner/admin), as the API does."""
    if request.method != "POST":
        return render_page(request)
    seat = request.seat
    seat.require("exports:create")
    values = {k: request.POST.get(k, "").strip() for k in (*FIELDS, *NUMBER_FIELDS)}
    try:
        export = export_request(request, values)
    except TernError as error:
        show_error(request, error)
        return render_page(
            request, create=FormState.failed(values, error), status=error.http_status
        )
    show_success(request, f"Export {export.id} queued: its file is written on the worker.")
    url = redirect("console:exports", slug=seat.workspace.slug).url
    return redirect(f"{url}?export={export.id}")


def serializer_data(values: dict) -> dict:
    """The posted fields the API would receive: empty ones left out; kind `number` takes
    `phone` and `as_of` (read in the workspace's time zone) instead of the dates."""
    names = FIELDS if values.get("kind") != NUMBER_KIND else ("kind", "format", *NUMBER_FIELDS)
    data = {name: values[name] for name in names if values.get(name)}
    if data.get("as_of"):
        data["as_of"] = local_moment(data["as_of"])
    return data


def local_moment(text: str) -> str:
    """A `datetime-local` value as ISO 8601 with the workspace's offset (else as typed)."""
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        return text  # the serializer names what is wrong with it
    if naive.tzinfo is not None:
        return naive.isoformat()
    return timezone.make_aware(naive, timezone.get_current_timezone()).isoformat()


def export_request(request, values: dict) -> Export:
    """Validate with the API's serializer; create through the API's service (audited)."""
    seat = request.seat
    form = ExportCreateSerializer(
        data=serializer_data(values), context={"workspace": seat.workspace, "request": request}
    )
    if not form.is_valid():
        raise validation_error(form)
    return form.save(
        workspace_id=seat.workspace_id, actor=member_actor(seat.member), ip=client_ip(request)
    )


@console_page("exports:read")
@require_GET
def export_row(request, export_id: str):
    """One export's row: what its polling fetches until it is completed or failed."""
    seat = request.seat
    export = export_get(seat, export_id)
    if not request.headers.get("HX-Request"):  # without JavaScript: the page, this one marked
        url = redirect("console:exports", slug=seat.workspace.slug).url
        return redirect(f"{url}?export={export.id}")
    context = {"row": export_view(export, request.GET.get("export", ""))}
    return render(request, "console/partials/export_row.html", context)


@console_page("exports:read")
@require_GET
def export_download(request, export_id: str):
    """The file as an attachment, streamed from disk in chunks; audited `export.downloaded`."""
    seat = request.seat
    export = export_get(seat, export_id)
    try:
        handle, name, content_type = export_open(
            export=export, actor=member_actor(seat.member), ip=client_ip(request)
        )
    except TernError as error:
        show_error(request, error)
        return redirect("console:exports", slug=seat.workspace.slug)
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
