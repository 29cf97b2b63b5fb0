"""An import's upload: the header checked at once, the file kept (UTF-8 checked as it streams) for
the worker, its records counted (the progress bar's end), a pending import recorded and audited,
its job published once that commits.

The console stages it instead (`staged=True`): the file and its header are kept but
nothing runs until `contact_import_start` saves the columns' mapping and enqueues the job. The
API may give the same mapping with the upload (`columns`), checked against the header at once.
"""

import codecs
import csv
from pathlib import Path

from django.conf import settings
from django.db import transaction

from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.errors import TernError

from ..models import ContactImport
from . import mapping
from .recovery import LEASE, enqueue_on_commit
from .report import import_path
from .rows import COLUMNS, file_error, header_cells

MAX_FILE_BYTES = settings.FILE_UPLOAD_MAX_BYTES
TOO_LARGE = "The file is larger than 20 MiB; split it into several imports."


def contact_import_create(
    *,
    workspace_id: str,
    upload,
    tags: list[str],
    consent_disclosure: str = "",
    actor: Actor,
    ip: str | None = None,
    staged: bool = False,
    columns: list[str] | None = None,
) -> ContactImport:
    """Check the CSV's header, keep the file for the worker, record a pending import; audited.
    `staged` (the console): keep the file and its header for the mapping step, run nothing yet.
    `columns` (the API): the console's mapping given with the upload, checked against the header
    (`validation_error` naming `columns`); without it the columns are read by name."""
    contact_import = _new(workspace_id, upload, tags, consent_disclosure, actor)
    if staged:
        contact_import.status = ContactImport.STAGED
    return _keep(contact_import, upload, actor=actor, ip=ip, start=not staged, columns=columns)


def contact_import_start(
    *, contact_import: ContactImport, columns: list[str], actor: Actor, ip: str | None = None
) -> ContactImport:
    """Save a staged import's mapping (checked against its header) and run it; audited.
    `invalid_state` when it was started already."""
    columns = mapping.validate(contact_import.header, columns)
    with transaction.atomic():
        now = clock.now()
        # A started import's task holds it for LEASE, as a new API import's does.
        started = ContactImport.objects.filter(
            pk=contact_import.pk, status=ContactImport.STAGED
        ).update(status=ContactImport.PENDING, columns=columns, leased_until=now + LEASE)
        if not started:
            raise TernError("invalid_state", "This import has started already.")
        contact_import.status, contact_import.columns = ContactImport.PENDING, columns
        audit_record(
            workspace=contact_import.workspace_id,
            actor=actor,
            action="contact_import.started",
            target=contact_import,
            ip=ip,
            after={"columns": dict(zip(contact_import.header, columns, strict=True))},
        )
        enqueue_on_commit(contact_import.id)
    return contact_import


def _new(workspace_id, upload, tags, consent_disclosure, actor) -> ContactImport:
    if upload.size > MAX_FILE_BYTES:
        raise file_error(TOO_LARGE)
    return ContactImport(
        workspace_id=workspace_id,
        file_name=(upload.name or "")[:300],
        tags=tags,
        consent_disclosure=consent_disclosure,
        created_at=clock.now(),
        created_by=actor.label[:254],
    )


def _keep(contact_import: ContactImport, upload, *, actor: Actor, ip, start: bool, columns=None):
    """Save the file, read its header and count its records, check its mapping when given,
    record the import (its job enqueued when `start`); the file is removed again when any of it
    fails."""
    path = import_path(contact_import.id)
    _save_upload(upload, path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            cells, _ = header_cells(reader)
            contact_import.rows_total = _count(reader)
        if start and columns is None:
            _check_columns([cell.lower() for cell in cells])
        else:
            contact_import.header = cells
        if columns is not None:
            contact_import.columns = mapping.validate(cells, columns)
        _record(contact_import, actor=actor, ip=ip, start=start)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return contact_import


def _count(reader) -> int:
    """The records after the header (a record that is not valid CSV ends the count: the run
    names it)."""
    count = 0
    try:
        for _ in reader:
            count += 1
    except csv.Error:
        pass
    return count


def _save_upload(upload, path: Path) -> None:
    """Copy the upload to disk, refusing bytes that are not UTF-8 (checked as they stream)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > MAX_FILE_BYTES:  # the declared size may not be the real one
                    raise file_error(TOO_LARGE)
                decoder.decode(chunk)
                out.write(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        path.unlink(missing_ok=True)
        raise file_error("The file is not UTF-8 text; save it as CSV UTF-8.") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _check_columns(columns) -> None:
    """A file without a `phone` column cannot be imported at all."""
    if "phone" not in columns:
        raise file_error(
            "The header row has no `phone` column; columns: " + ",".join(COLUMNS) + ".",
            missing_columns=["phone"],
        )


@transaction.atomic
def _record(contact_import: ContactImport, *, actor: Actor, ip: str | None, start: bool) -> None:
    """Save the import, audited; a started one's job is enqueued when the transaction commits."""
    contact_import.save(force_insert=True)
    after = {
        "file_name": contact_import.file_name,
        "tags": contact_import.tags,
        "consent_disclosure": contact_import.consent_disclosure,
    }
    if contact_import.columns:  # mapped at upload (the API's `columns`)
        after["columns"] = dict(zip(contact_import.header, contact_import.columns, strict=True))
    audit_record(
        workspace=contact_import.workspace_id,
        actor=actor,
        action="contact_import.created",
        target=contact_import,
        ip=ip,
        after=after,
    )
    if start:
        enqueue_on_commit(contact_import.id)
