"""One contact's page: its fields (edited as the API's PATCH validates them), its consent history,
its suppressions and recent messages, and `Delete contact` (audited, after `Confirm`)."""

from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from campaigns.api.serializers import ContactSerializer
from campaigns.imports.rows import split_tags
from campaigns.models import Contact
from campaigns.services.contacts import contact_delete, contact_update
from compliance.models import Consent, Suppression
from messaging.models import Message
from workspaces.api.base import client_ip
from workspaces.services import member_actor

from ...access import console_page
from ...feedback import show_error, show_success
from ...forms import FormState, validation_error
from ..settings import zone_names
from .listing import READ, WRITE

HISTORY_LIMIT = 100  # consent and suppression records shown (the Number page has them all)
MESSAGES_LIMIT = 20
EDITABLE = ("first_name", "last_name", "timezone", "tags")


def contact_get(seat, contact_id: str) -> Contact:
    """The workspace's contact, or the same 404 as another workspace's."""
    return get_object_or_404(Contact.objects.for_workspace(seat.workspace_id), pk=contact_id)


def number_url(slug: str, phone: str) -> str:
    """The Number page of the phone (its route may not exist yet where this runs)."""
    try:
        return reverse("console:number", kwargs={"slug": slug, "e164": phone})
    except NoReverseMatch:
        return f"/w/{slug}/numbers/{phone}/"


def recent_messages(seat, phone: str) -> list[Message]:
    """The newest messages to and from the number in the mode shown (two indexed, limited reads)."""
    shown = Message.objects.visible_to(seat).order_by("-created_at", "-id")
    sent = list(shown.filter(to_number=phone)[:MESSAGES_LIMIT])
    received = list(shown.filter(from_number=phone)[:MESSAGES_LIMIT])
    both = sorted(sent + received, key=lambda m: (m.created_at, m.id), reverse=True)
    return both[:MESSAGES_LIMIT]


def form_values(contact: Contact) -> dict:
    """The edit form's fields as the contact has them (tags as `a; b`)."""
    values = {name: getattr(contact, name) for name in EDITABLE}
    values["tags"] = "; ".join(contact.tags or [])
    return values


def _render(request, contact: Contact, state: FormState | None = None, status: int = 200):
    seat = request.seat
    records = Consent.objects.for_workspace(seat.workspace_id).filter(phone=contact.phone)
    suppressions = Suppression.objects.for_workspace(seat.workspace_id).filter(phone=contact.phone)
    context = {
        "contact": contact,
        "state": state or FormState(values=form_values(contact)),
        "consents": list(records.order_by("-created_at", "-id")[:HISTORY_LIMIT]),
        "suppressions": list(suppressions.order_by("-created_at", "-id")[:HISTORY_LIMIT]),
        "recent": recent_messages(seat, contact.phone),
        "number_url": number_url(seat.workspace.slug, contact.phone),
        "can_write": seat.can(WRITE),
        "zone_names": zone_names(),
    }
    return render(request, "console/contact.html", context, status=status)


@console_page(READ, post=WRITE)
def contact_detail(request, contact_id: str):
    """The contact; a POST saves its names, time zone and tags (`contacts:write`)."""
    seat = request.seat
    contact = contact_get(seat, contact_id)
    if request.method != "POST":
        return _render(request, contact)
    values = {name: request.POST.get(name, "").strip() for name in EDITABLE}
    data = {**values, "tags": split_tags([values["tags"]], separators=";,")}
    form = ContactSerializer(
        contact, data=data, partial=True, context={"workspace": seat.workspace}
    )
    if not form.is_valid():
        error = validation_error(form)
        show_error(request, error)
        return _render(request, contact, FormState.failed(values, error), status=400)
    contact_update(contact=contact, changes=form.validated_data)
    show_success(request, "Contact saved.")
    return redirect("console:contact", slug=seat.workspace.slug, contact_id=contact.id)


@console_page(READ, post=WRITE)
@require_POST
def contact_delete_view(request, contact_id: str):
    """Delete the contact (its consents and suppressions stay), audited as `contact.deleted`."""
    seat = request.seat
    contact = contact_get(seat, contact_id)
    phone = contact.phone
    contact_delete(contact=contact, actor=member_actor(seat.member), ip=client_ip(request))
    show_success(request, f"Contact {phone} deleted; its consent and suppression records stay.")
    return redirect("console:contacts", slug=seat.workspace.slug)
