"""Writes of contacts and templates."""

from django.db import IntegrityError, transaction

from workspaces import clock
from workspaces.errors import TernError

from .models import Contact, Template

DUPLICATE_PHONE = "A contact with this phone number exists in this workspace."


def contact_create(*, workspace_id: str, phone: str, **fields) -> Contact:
    """A new contact; its phone must be new to the workspace."""
    try:
        with transaction.atomic():
            return Contact.objects.create(workspace_id=workspace_id, phone=phone,
                                          created_at=clock.now(), **fields)  # fmt: skip
    except IntegrityError as exc:
        raise TernError("validation_error", details={"phone": [DUPLICATE_PHONE]}) from exc


def contact_update(*, contact: Contact, changes: dict) -> Contact:
    """Change a contact's fields (a new phone must stay unique)."""
    for field, value in changes.items():
        setattr(contact, field, value)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise TernError("validation_error", details={"phone": [DUPLICATE_PHONE]}) from exc
    return contact


def template_create(*, workspace_id: str, name: str, body: str) -> Template:
    """A new template (its merge fields were checked by the caller's serializer)."""
    return Template.objects.create(workspace_id=workspace_id, name=name, body=body,
                                   created_at=clock.now())  # fmt: skip


def template_update(*, template: Template, changes: dict) -> Template:
    """Change a template's name or body."""
    for field, value in changes.items():
        setattr(template, field, value)
    template.save()
    return template
