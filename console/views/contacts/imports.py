"""Import: upload a CSV with the consent disclosure (staged), map its columns to Tern's, start it,
watch the worker read its rows, read and download the row report. Services do every write."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from campaigns.api.serializers import ContactImportCreateSerializer
from campaigns.imports import mapping
from campaigns.imports.report import row_fix
from campaigns.imports.upload import contact_import_create, contact_import_start
from campaigns.models import ContactImport
from workspaces.api.base import client_ip
from workspaces.csvsafe import csv_line
from workspaces.errors import TernError
from workspaces.services import member_actor

from ...access import console_page
from ...feedback import show_error
from ...forms import FormState, validation_error
from .listing import READ, WRITE

RECENT_IMPORTS = 10
REPORT_SHOWN = 500  # rows of the report on the page; the download has them all
FINISHED = (ContactImport.COMPLETED, ContactImport.FAILED)
REPORT_FIELDS = ("row", "value", "code", "fix")


def import_get(seat, import_id: str) -> ContactImport:
    """The workspace's import, or the same 404 as another workspace's."""
    return get_object_or_404(ContactImport.objects.for_workspace(seat.workspace_id), pk=import_id)


def _upload_page(request, state: FormState | None = None, status: int = 200):
    imports = ContactImport.objects.for_workspace(request.seat.workspace_id)
    context = {
        "state": state or FormState(),
        "can_write": request.seat.can(WRITE),
        "imports": list(imports.order_by("-created_at", "-id")[:RECENT_IMPORTS]),
    }
    return render(request, "console/contact_import.html", context, status=status)


@console_page(READ, post=WRITE)
def import_upload(request):
    """The upload form (the API's fields and checks); a POST keeps the file for the mapping."""
    if request.method != "POST":
        return _upload_page(request)
    seat = request.seat
    values = {"consent_disclosure": request.POST.get("consent_disclosure", "")}
    values["tags"] = request.POST.get("tags", "")
    tags = [values["tags"]] if values["tags"].strip() else []
    form = ContactImportCreateSerializer(
        data={**values, "tags": tags, "file": request.FILES.get("file")}
    )
    try:
        if not form.is_valid():
            raise validation_error(form)
        data = form.validated_data
        contact_import = contact_import_create(
            workspace_id=seat.workspace_id,
            upload=data["file"],
            tags=data["tags"],
            consent_disclosure=data["consent_disclosure"].strip(),
            actor=member_actor(seat.member),
            ip=client_ip(request),
            staged=True,
        )
    except TernError as error:
        show_error(request, error)
        return _upload_page(request, FormState.failed(values, error), status=400)
    return redirect("console:contact_import", slug=seat.workspace.slug, import_id=contact_import.id)


def mapping_rows(contact_import: ContactImport, chosen: list[str] | None = None) -> list[dict]:
    """Each column of the file with its choices (Tern's fields, its attribute, ignore) and the
    one selected (what was posted, else the guess)."""
    guessed = mapping.guess(contact_import.header)
    rows = []
    for index, column in enumerate(contact_import.header):
        attribute = mapping.ATTRIBUTE + mapping.attribute_key(column or f"column_{index + 1}")
        choices = [*mapping.FIELDS, attribute, mapping.IGNORE]
        selected = chosen[index] if chosen and index < len(chosen) else guessed[index]
        if selected not in choices:
            choices.insert(-1, selected)
        label = column or f"Column {index + 1}"
        rows.append({"index": index, "column": label, "choices": choices, "selected": selected})
    return rows


def progress_context(contact_import: ContactImport) -> dict:
    """The progress bar's numbers and the report with what to fix, for the page and its poll."""
    errors = (contact_import.errors or [])[:REPORT_SHOWN]
    total = contact_import.rows_total
    done = contact_import.status == ContactImport.COMPLETED
    return {
        "imp": contact_import,
        "finished": contact_import.status in FINISHED,
        "rows_max": total,
        # A completed import has read every row, whatever its last checkpoint said.
        "rows_now": total if done else min(contact_import.rows_read, total),
        "report": [{**e, "fix": row_fix(e["code"])} for e in errors],
        "report_cut": len(contact_import.errors or []) > REPORT_SHOWN,
    }


def _detail(request, contact_import, *, state: FormState | None = None, status: int = 200):
    context = progress_context(contact_import)
    context["can_write"] = request.seat.can(WRITE)
    if contact_import.status == ContactImport.STAGED:
        chosen = state.values.get("columns") if state else None
        context["mapping"] = mapping_rows(contact_import, chosen)
        context["state"] = state or FormState()
    return render(request, "console/contact_import_detail.html", context, status=status)


@console_page(READ)
def import_detail(request, import_id: str):
    """A staged import's mapping step, or a started one's progress and report."""
    return _detail(request, import_get(request.seat, import_id))


@console_page(READ, post=WRITE)
@require_POST
def import_start(request, import_id: str):
    """Save the mapping and start the import on the worker (`Start import`)."""
    seat = request.seat
    contact_import = import_get(seat, import_id)
    columns = [request.POST.get(f"column-{i}", "") for i in range(len(contact_import.header))]
    try:
        contact_import_start(
            contact_import=contact_import,
            columns=columns,
            actor=member_actor(seat.member),
            ip=client_ip(request),
        )
    except TernError as error:
        show_error(request, error)
        state = FormState(values={"columns": columns}, errors={"columns": [error.message]})
        return _detail(request, import_get(seat, import_id), state=state, status=400)
    return redirect("console:contact_import", slug=seat.workspace.slug, import_id=import_id)


@console_page(READ)
def import_progress(request, import_id: str):
    """The progress bar and report alone: what the page's poll swaps in."""
    context = progress_context(import_get(request.seat, import_id))
    return render(request, "console/partials/contact_import_progress.html", context)


def report_csv(contact_import: ContactImport) -> str:
    """The whole row report as CSV (row, value, code, fix), cells safe in a spreadsheet."""
    lines = [csv_line(REPORT_FIELDS)]
    for error in contact_import.errors or []:
        row = {**error, "fix": row_fix(error["code"])}
        lines.append(csv_line(row[name] for name in REPORT_FIELDS))
    return "".join(lines)


@console_page(READ)
def import_report(request, import_id: str):
    """`Download report`: the row report as a CSV attachment."""
    contact_import = import_get(request.seat, import_id)
    response = HttpResponse(report_csv(contact_import), content_type="text/csv; charset=utf-8")
    name = f"{contact_import.id}-report.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
