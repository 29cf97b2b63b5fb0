"""Reads of campaigns data."""

from dataclasses import dataclass
from decimal import Decimal

import phonenumbers
from phonenumbers import PhoneNumberType

from messaging.encoding import encode_body
from messaging.models import Message
from messaging.pricing import price_for
from workspaces.errors import TernError
from workspaces.models import Workspace
from workspaces.phones import country_of, to_e164

from .models import Contact, Template
from .rendering import MissingMergeField, render


def contact_timezone(workspace_id: str, phone: str) -> str | None:
    """The time zone of the workspace's contact with this number, if it has one set."""
    zone = (
        Contact.objects.for_workspace(workspace_id)
        .filter(phone=phone)
        .values_list("timezone", flat=True)
        .first()
    )
    return zone or None


def latest_campaign_message(*, workspace_id: str, phone: str, since) -> Message | None:
    """The newest campaign message the workspace sent the number since then, if any."""
    sent = Message.objects.for_workspace(workspace_id).filter(
        direction=Message.OUTBOUND, to_number=phone, created_at__gte=since
    )
    return sent.exclude(campaign_id="").order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class TemplatePreview:
    """A template rendered for one recipient, as it would be sent."""

    body: str
    encoding: str
    segments: int
    price: Decimal


def template_preview(
    *,
    workspace: Workspace,
    template: Template,
    test: bool,
    contact_id: str = "",
    phone: str = "",
    sample: bool = False,
) -> TemplatePreview:
    """The template's body for a contact (by id), a number or the sample contact, with its
    encoding, segments and price; `not_found`, `invalid_number` or `missing_merge_field` when it
    cannot be rendered."""
    values = _preview_values(workspace, contact_id=contact_id, phone=phone, sample=sample)
    try:
        body = render(template.body, values)
    except MissingMergeField as missing:
        raise TernError("missing_merge_field", details={"field": missing.field}) from missing
    encoded = encode_body(body)
    country = country_of(values["phone"]) or workspace.default_country
    price = price_for(workspace=workspace, country=country, segments=encoded.segments, test=test)
    return TemplatePreview(body, encoded.encoding, encoded.segments, price)


# A made-up recipient, for a preview before any contact is chosen (the console's Templates page).
SAMPLE_CONTACT = {"first_name": "Alex", "last_name": "Sample", "attributes": {}}


def sample_phone(country: str) -> str:
    """An example mobile number of the country (libphonenumber's), else a US one."""
    example = phonenumbers.example_number_for_type(country or "US", PhoneNumberType.MOBILE)
    example = example or phonenumbers.example_number_for_type("US", PhoneNumberType.MOBILE)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _preview_values(workspace: Workspace, *, contact_id: str, phone: str, sample: bool) -> dict:
    """The merge values of the workspace's contact, of a bare number, or of the sample contact."""
    if sample:
        return {**SAMPLE_CONTACT, "phone": sample_phone(workspace.default_country)}
    if contact_id:
        contact = Contact.objects.for_workspace(workspace).filter(pk=contact_id).first()
        if contact is None:
            raise TernError("not_found", "There is no such contact in this workspace.")
        return {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "phone": contact.phone,
            "attributes": contact.attributes,
        }
    number = to_e164(phone, workspace.default_country)
    if not number:
        raise TernError("invalid_number", details={"phone": phone})
    return {"phone": number}
