"""The run: claim a pending export, write its file and manifest, announce it, or record why not."""

import logging
import os
from contextlib import contextmanager
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction

from webhooks.events import emit
from workspaces import clock

from ..models import Export
from .files import chain_head, export_path, export_resource, manifest, part_path
from .kinds import export_kind
from .writers import WRITERS, HashingSink

logger = logging.getLogger("tern.exports")

# The worker's limits for one export; the hard one stays under the broker's visibility timeout.
TIME_LIMIT, SOFT_TIME_LIMIT = 3300, 3240


def export_run(*, export_id: str) -> Export | None:
    """Claim a pending export, write its file and manifest, announce it; a failure is recorded.

    Safe to run twice: the claim is a conditional UPDATE, so a second run finds nothing to do.
    """
    if not Export.objects.filter(pk=export_id, status=Export.PENDING).update(status=Export.RUNNING):
        return None
    export = Export.objects.get(pk=export_id)
    try:
        head, rows, digest = _write(export)
        return _complete(export, head=head, rows=rows, digest=digest)
    except Exception as exc:  # any failure, the soft time limit included, ends as `failed`
        # Staff read the exception in the log, found by the export's id; the customer reads
        # words (CONTRACT §9: never a stack trace, nor an exception's text).
        logger.exception(
            "export %s failed (workspace %s, kind %s)", export_id, export.workspace_id, export.kind
        )
        return fail(export, failure_words(exc))


FAILED_WORDS = (
    "The export could not be written because of an error on our side; create it again, "
    "and if it fails again contact support with the export's id."
)
TOO_LONG_WORDS = (
    "The export took longer than the worker allows; create it again with a shorter date range."
)


def failure_words(exc: BaseException) -> str:
    """What a failed export tells its reader: a sentence, never the exception itself."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return TOO_LONG_WORDS
    return FAILED_WORDS


def _write(export: Export) -> tuple[dict, int, str]:
    """Write the data file (as .part); returns the chain head, the row count and the SHA-256.

    On PostgreSQL the head and the rows are read in one REPEATABLE READ snapshot, so an
    audit_events export holds exactly the events the manifest's head commits to. SQLite reads
    without a transaction: an IMMEDIATE one would hold the write lock for the whole export.
    """
    kind = export_kind(export.kind)
    part = part_path(export)
    part.parent.mkdir(parents=True, exist_ok=True)
    with _snapshot():
        head = chain_head(export.workspace_id)
        if kind.bundle:
            rows = kind.rows(export, head)
        else:
            rows = kind.rows(export.workspace_id, export.date_from, export.date_to)
        with open(part, "wb", buffering=1 << 20) as raw:
            sink = HashingSink(raw)
            count = WRITERS[export.format](sink, kind.fields, rows)
    return head, count, sink.digest.hexdigest()


@contextmanager
def _snapshot():
    """A read-only REPEATABLE READ transaction on PostgreSQL (outside any other); else nothing."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _complete(export: Export, *, head: dict, rows: int, digest: str) -> Export:
    """Move the file into place and mark the export completed, under the row's lock."""
    part, final = part_path(export), export_path(export)
    with transaction.atomic():
        locked = Export.objects.select_for_update().get(pk=export.pk)
        if locked.status != Export.RUNNING:  # the sweeper gave up on this run meanwhile
            part.unlink(missing_ok=True)
            return locked
        now = clock.now()
        locked.status, locked.rows, locked.sha256 = Export.COMPLETED, rows, digest
        locked.file_name = str(final.relative_to(settings.EXPORTS_DIR))
        locked.completed_at = now
        locked.expires_at = now + timedelta(days=settings.RETENTION_EXPORTS_DAYS)
        locked.manifest = manifest(locked, head)
        locked.save(
            update_fields=[
                "status",
                "rows",
                "sha256",
                "file_name",
                "completed_at",
                "expires_at",
                "manifest",
            ]
        )
        emit(
            workspace_id=locked.workspace_id,
            test=False,
            type="export.completed",
            data=export_resource(locked),
        )
        os.replace(part, final)  # last: a failure above leaves no completed-looking file
    return locked


def fail(export: Export, error: str) -> Export:
    """Record the failure and remove whatever was written."""
    part_path(export).unlink(missing_ok=True)
    export_path(export).unlink(missing_ok=True)
    Export.objects.filter(pk=export.pk, status=Export.RUNNING).update(
        status=Export.FAILED, error=error[:2000]
    )
    export.refresh_from_db()
    return export
