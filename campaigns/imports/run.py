"""An import's run on the worker: the file streamed `BATCH` rows at a time, each batch one
transaction (one lookup, one bulk insert, one bulk update, the consents, the progress)."""

import csv
import logging
from datetime import datetime
from itertools import islice

from django.db import IntegrityError, transaction

from compliance.services import consent_record
from workspaces import clock
from workspaces.audit import Actor
from workspaces.errors import TernError

from ..models import Contact, ContactImport
from . import mapping, recovery
from .report import Report, import_actor, import_path
from .rows import Row, RowParser, header

logger = logging.getLogger("tern.imports")

BATCH = 1000  # rows per transaction, and per lookup of the contacts the workspace already has
UPDATED_FIELDS = ["first_name", "last_name", "timezone", "tags", "attributes", "updated_at"]
# A concurrent writer may add one of a batch's numbers between our lookup and our insert.
WRITE_ATTEMPTS = 3


def contact_import_run(*, import_id: str) -> ContactImport | None:
    """Claim an import no run holds, read its file (after the rows already committed), write its
    report; a second run of a held or finished import finds nothing."""
    contact_import = recovery.claim(import_id)
    if contact_import is None:
        return None
    done = contact_import  # what earlier runs committed, when this one resumes
    report = Report(
        done.created, done.updated, done.refused, list(done.errors or []), done.rows_read
    )
    try:
        _read(contact_import, report)
        status, failure = ContactImport.COMPLETED, ""
    except recovery.LeaseLost:
        return None  # another run took over and now owns the file
    except Exception as exc:  # the soft time limit included: the import ends as `failed`
        logger.exception("contact import %s failed", import_id)
        status, failure = ContactImport.FAILED, _failure_text(exc)
    if not recovery.finish(contact_import, report, status=status, failure=failure):
        return None
    import_path(import_id).unlink(missing_ok=True)
    return contact_import


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "The uploaded file is gone; upload it again."
    if isinstance(exc, TernError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _read(contact_import: ContactImport, report: Report) -> None:
    """Stream the file and write it a batch at a time, keeping the counts up to date."""
    actor = import_actor(contact_import)
    with open(import_path(contact_import.id), encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        columns, header_row = header(reader)
        attributes = {}
        if contact_import.columns:  # mapped in the console; the API's imports read by name
            columns, attributes = mapping.by_mapping(contact_import.columns)
        parser = RowParser(contact_import, columns, report, attributes)
        rows = parser.rows(reader, first=header_row + 1, done=contact_import.progress_row)
        while batch := list(islice(rows, BATCH)):
            report.rows_read = parser.row - header_row
            _write_batch(contact_import, batch, actor=actor, report=report, row=parser.row)
        report.rows_read = parser.row - header_row  # refused rows after the last batch too


def _write_batch(
    contact_import: ContactImport, rows: list[Row], *, actor: Actor, report: Report, row: int
) -> None:
    """Insert new contacts, update known ones and record consents, in one transaction with the
    import's progress up to file row `row` (where a lost run resumes)."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                created = _upsert(contact_import.workspace_id, rows)
                _record_consents(contact_import, rows, actor=actor)
                recovery.checkpoint(
                    contact_import, report, row=row, created=created, updated=len(rows) - created
                )
            break
        except IntegrityError:
            # Someone added one of these numbers since we looked: look again.
            if attempt == WRITE_ATTEMPTS:
                raise
    report.created += created
    report.updated += len(rows) - created


def _upsert(workspace_id: str, rows: list[Row]) -> int:
    """Write the batch's contacts with one lookup, one insert and one update; the number new."""
    now = clock.now()
    existing = {
        contact.phone: contact
        for contact in Contact.objects.for_workspace(workspace_id)
        .filter(phone__in=[row.phone for row in rows])
        .only("id", "phone", *UPDATED_FIELDS)
    }
    new = [_new_contact(workspace_id, row, now) for row in rows if row.phone not in existing]
    changed = [
        existing[row.phone]
        for row in rows
        if row.phone in existing and _merge(existing[row.phone], row, now)
    ]
    Contact.objects.bulk_create(new, batch_size=BATCH)
    Contact.objects.bulk_update(changed, UPDATED_FIELDS, batch_size=BATCH)
    return len(new)


def _new_contact(workspace_id: str, row: Row, now: datetime) -> Contact:
    return Contact(
        workspace_id=workspace_id,
        phone=row.phone,
        first_name=row.first_name,
        last_name=row.last_name,
        timezone=row.timezone,
        tags=row.tags,
        attributes=row.attributes,
        created_at=now,
        updated_at=now,
    )


def _merge(contact: Contact, row: Row, now: datetime) -> bool:
    """Apply a row to a known contact (only the cells it fills; tags added); whether it changed."""
    before = (
        contact.first_name,
        contact.last_name,
        contact.timezone,
        contact.tags,
        contact.attributes,
    )
    contact.first_name = row.first_name or contact.first_name
    contact.last_name = row.last_name or contact.last_name
    contact.timezone = row.timezone or contact.timezone
    contact.tags = sorted({*(contact.tags or []), *row.tags})
    contact.attributes = {**(contact.attributes or {}), **row.attributes}
    after = (contact.first_name, contact.last_name, contact.timezone, contact.tags)
    if (*after, contact.attributes) == before:
        return False
    contact.updated_at = now  # bulk_update does not apply auto_now
    return True


def _record_consents(contact_import: ContactImport, rows: list[Row], *, actor: Actor) -> None:
    """Marketing consent, method `import`, with the import's disclosure, for each granting row."""
    for row in rows:
        if row.consent:
            consent_record(
                workspace_id=contact_import.workspace_id,
                phone=row.phone,
                method="import",
                actor=actor,
                disclosure=contact_import.consent_disclosure,
                captured_at=row.captured_at,
            )
