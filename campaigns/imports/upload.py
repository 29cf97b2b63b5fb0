"""An import's upload: the header checked at once, the file kept (UTF-8 checked as it streams) for
the worker, a pending import recorded and audited, its job published once that commits.
"""

import codecs
import csv
from pathlib import Path

from django.conf import settings
from django.db import transaction

from workspaces import clock
from workspaces.audit import Actor, audit_record

from ..models import ContactImport
from .recovery import enqueue_on_commit
from .report import import_path
from .rows import COLUMNS, file_error, header

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
) -> ContactImport:
    """Check the CSV's header, keep the file for the worker, record a pending import; audited."""
    if upload.size > MAX_FILE_BYTES:
        raise file_error(TOO_LARGE)
    contact_import = ContactImport(
        workspace_id=workspace_id,
        file_name=(upload.name or "")[:300],
        tags=tags,
        consent_disclosure=consent_disclosure,
        created_at=clock.now(),
        created_by=actor.label[:254],
    )
    path = import_path(contact_import.id)
    _save_upload(upload, path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            _check_columns(header(csv.reader(handle))[0])
        _record(contact_import, actor=actor, ip=ip)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return contact_import


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


def _check_columns(columns: dict[str, int]) -> None:
    """A file without a `phone` column cannot be imported at all."""
    if "phone" not in columns:
        raise file_error(
            "The header row has no `phone` column; columns: " + ",".join(COLUMNS) + ".",
            missing_columns=["phone"],
        )


@transaction.atomic
def _record(contact_import: ContactImport, *, actor: Actor, ip: str | None) -> None:
    """Save the pending import, audited; its job is enqueued when the transaction commits."""
    contact_import.save(force_insert=True)
    audit_record(
        workspace=contact_import.workspace_id,
        actor=actor,
        action="contact_import.created",
        target=contact_import,
        ip=ip,
        after={
            "file_name": contact_import.file_name,
            "tags": contact_import.tags,
            "consent_disclosure": contact_import.consent_disclosure,
        },
    )
    enqueue_on_commit(contact_import.id)
