"""Writes of contacts: create, update, delete (audited)."""

from django.db import IntegrityError, transaction

from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.errors import TernError
from workspaces.updates import model_update

from ..models import Contact

DUPLICATE_PHONE = "A contact with this phone number exists in this workspace."


def contact_create(*, workspace_id: str, phone: str, **fields) -> Contact:
    """A new contact; its phone must be new to the workspace."""
    try:
        with transaction.atomic():
            return Contact.objects.create(
                workspace_id=workspace_id, phone=phone, created_at=clock.now(), **fields
            )
    except IntegrityError as exc:
        raise TernError("validation_error", details={"phone": [DUPLICATE_PHONE]}) from exc


def contact_update(*, contact: Contact, changes: dict) -> Contact:
    """Change a contact's fields (a new phone must stay unique)."""
    try:
        with transaction.atomic():
            model_update(instance=contact, data=changes)
    except IntegrityError as exc:
        raise TernError("validation_error", details={"phone": [DUPLICATE_PHONE]}) from exc
    return contact


def contact_delete(*, contact: Contact, actor: Actor, ip: str | None = None) -> None:
    """Remove a contact, audited with the number it had (its consents and suppressions stay)."""
    with transaction.atomic():
        audit_record(
            workspace=contact.workspace_id,
            actor=actor,
            action="contact.deleted",
            target=contact,
            ip=ip,
            before={"phone": contact.phone},
        )
        contact.delete()
