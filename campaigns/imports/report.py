"""What an import did so far (its report), as the API shows it; where its file waits; whose
writes the worker's are."""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from workspaces import clock
from workspaces.audit import Actor
from workspaces.errors import spec

from ..models import ContactImport

MAX_ERRORS = 10_000


def import_path(import_id: str) -> Path:
    """Where an import's uploaded file waits for the worker."""
    return Path(settings.MEDIA_ROOT) / "imports" / f"{import_id}.csv"


def import_actor(contact_import: ContactImport) -> Actor:
    """The audit actor of the worker's writes: the import, on behalf of whoever uploaded it."""
    label = f"contact import {contact_import.id} by {contact_import.created_by or 'unknown'}"
    return Actor("system", contact_import.id, label[:254])


@dataclass
class Report:
    """What the job did so far."""

    created: int = 0
    updated: int = 0
    refused: int = 0
    errors: list = field(default_factory=list)
    rows_read: int = 0  # records after the header read so far (the progress bar's value)

    def refuse(self, row: int, value: str, code: str) -> None:
        """Name a refused row in the report (up to one past the cap, which marks truncation)."""
        self.refused += 1
        if len(self.errors) <= MAX_ERRORS:
            self.errors.append({"row": row, "value": value, "code": code})


def contact_import_resource(contact_import: ContactImport) -> dict:
    """An import as the API shows it."""
    errors = contact_import.errors or []
    return {
        "id": contact_import.id,
        "status": contact_import.status,
        "file_name": contact_import.file_name,
        "tags": contact_import.tags,
        "consent_disclosure": contact_import.consent_disclosure or None,
        "created": contact_import.created,
        "updated": contact_import.updated,
        "errors": errors[:MAX_ERRORS],
        # One error past the cap is kept only to know the report was cut short.
        "errors_truncated": len(errors) > MAX_ERRORS,
        "failure": contact_import.failure or None,
        "rows_total": contact_import.rows_total,
        "rows_read": contact_import.rows_read,
        "created_by": contact_import.created_by,
        "created_at": clock.isoformat(contact_import.created_at),
        "completed_at": clock.isoformat(contact_import.completed_at),
    }


def row_fix(code: str) -> str:
    """What to change in the file for a refused row's code: its fix in the error catalogue."""
    return spec(code).fix
