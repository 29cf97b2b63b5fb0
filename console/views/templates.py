"""Templates (CONTRACT §12): the list, `New template`, and create/edit with a live preview.

Saves go through the API's serializer (unknown merge fields → `validation_error`) and the same
services; the preview is `campaigns.selectors.template_preview` on the body as typed, for a chosen
contact, a number or the sample contact. Without JavaScript, the `Preview` button renders it
server-side; with it, htmx asks `templates/preview/` as one types (a poll: no session refresh).
"""

import unicodedata

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from campaigns.api.serializers import TemplateSerializer
from campaigns.models import Contact, Template
from campaigns.rendering import unknown_fields
from campaigns.selectors import SAMPLE_CONTACT, template_preview
from campaigns.services.templates import template_create, template_update
from messaging.encoding import ucs2_characters
from workspaces.errors import TernError

from ..access import console_page
from ..feedback import show_error, show_success
from ..forms import FormState, validation_error
from .lists import cursor_page

READ, WRITE = "campaigns:read", "campaigns:write"
PREVIEW_CONTACTS = 10  # the newest contacts offered in `Preview for`


def _templates(seat):
    return Template.objects.for_workspace(seat.workspace)


@console_page(READ)
@require_GET
def template_list(request):
    """The workspace's templates, newest first, a cursor page at a time."""
    seat = request.seat
    try:
        rows, next_url, previous_url = cursor_page(request, _templates(seat))
    except TernError as error:  # an edited cursor
        show_error(request, error)
        return redirect("console:templates", slug=seat.workspace.slug)
    context = {"rows": rows, "next": next_url, "previous": previous_url}
    context["can_write"] = seat.can(WRITE)
    return render(request, "console/templates.html", context)


def template_values(post) -> dict:
    """The posted form: name and body (kept as typed), and whom to preview it for."""
    return {
        "name": post.get("name", "").strip(),
        "body": post.get("body", ""),
        "contact": post.get("contact", ""),
        "phone": post.get("phone", "").strip(),
    }


def char_name(char: str) -> str:
    """`🙂 (U+1F642 SLIGHTLY SMILING FACE)`: a character with its code point and Unicode name."""
    name = unicodedata.name(char, "")
    return f"{char} (U+{ord(char):04X}{' ' + name if name else ''})"


def live_preview(seat, *, body: str, contact: str = "", phone: str = "") -> dict:
    """The body rendered for the contact, number or sample contact: encoding, the characters
    that forced UCS-2, segments and price; or the unknown merge fields / the error that stops it."""
    unknown = unknown_fields(body)
    if unknown:
        return {"unknown": unknown}
    try:
        preview = template_preview(
            workspace=seat.workspace,
            template=Template(workspace=seat.workspace, body=body),
            test=seat.is_test,
            contact_id=contact if not phone else "",
            phone=phone,
            sample=not (contact or phone),
        )
    except TernError as error:
        return {"error": error}
    forced = [char_name(c) for c in ucs2_characters(preview.body)]
    return {"preview": preview, "forced": forced}


def _page(request, *, template=None, form: FormState, status: int = 200):
    """The create/edit page: the form (or, for a reader, the template) and its preview."""
    seat = request.seat
    values = form.values
    contacts = Contact.objects.for_workspace(seat.workspace).order_by("-created_at", "-id")
    context = {
        "template": template,
        "form": form,
        "can_write": seat.can(WRITE),
        "contacts": contacts[:PREVIEW_CONTACTS],
        "sample": SAMPLE_CONTACT,
        "preview": live_preview(
            seat,
            body=values.get("body", ""),
            contact=values.get("contact", ""),
            phone=values.get("phone", ""),
        ),
    }
    return render(request, "console/template_form.html", context, status=status)


def _save(seat, template: Template | None, values: dict) -> Template:
    """Create or change the template as the API does (its serializer, then the service)."""
    form = TemplateSerializer(template, data={"name": values["name"], "body": values["body"]})
    if not form.is_valid():
        raise validation_error(form)
    if template is None:
        return template_create(workspace_id=seat.workspace_id, **form.validated_data)
    return template_update(template=template, changes=form.validated_data)


def _post(request, template: Template | None):
    """`Save` (then back to the template's page) or `Preview` (the page again, nothing saved)."""
    seat, values = request.seat, template_values(request.POST)
    if request.POST.get("action") == "preview":
        return _page(request, template=template, form=FormState(values=values))
    try:
        saved = _save(seat, template, values)
    except TernError as error:
        show_error(request, error)
        failed = FormState.failed(values, error, field="body")
        return _page(request, template=template, form=failed, status=error.http_status)
    show_success(request, f"Template “{saved.name}” saved.")
    return redirect("console:template", slug=seat.workspace.slug, template_id=saved.pk)


@console_page(WRITE, post=WRITE)
def template_new(request):
    """A new template: `Name`, `Body`, `Save`."""
    if request.method == "POST":
        return _post(request, None)
    return _page(request, form=FormState(values={"name": "", "body": ""}))


@console_page(READ, post=WRITE)
def template_detail(request, template_id: str):
    """One template: edited by those who may write campaigns, read by the others."""
    template = get_object_or_404(_templates(request.seat), pk=template_id)
    if request.method == "POST":
        return _post(request, template)
    values = {"name": template.name, "body": template.body}
    return _page(request, template=template, form=FormState(values=values))


@console_page(READ)
@require_GET
def template_preview_fragment(request):
    """The live preview, asked by htmx as one types (`X-Tern-Poll: 1`: no session refresh)."""
    values = template_values(request.GET)
    preview = live_preview(
        request.seat, body=values["body"], contact=values["contact"], phone=values["phone"]
    )
    context = {"preview": preview}
    return render(request, "console/template_preview.html", context)
