"""Compliance exports (CONTRACT §9): a registry of export kinds, and the writer that runs one.

Kinds register here with `register_export_kind`; compliance brings `consents`, `suppressions`
and `audit_events`, and higher apps plug theirs in from `AppConfig.ready()` (messaging adds
`messages`), so compliance never imports them. A kind's rows are streamed from the database a
chunk at a time and written row by row while the file's SHA-256 is computed, so an export of any
size runs in constant memory on the worker, and its download streams from disk.
"""

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import TextField, Value
from django.db.models.functions import NullIf
from django.urls import reverse

from webhooks.events import emit
from workspaces import clock
from workspaces.audit import GENESIS_HASH, Actor, audit_record
from workspaces.csvsafe import csv_line
from workspaces.enqueue import publish_on_commit
from workspaces.errors import TernError
from workspaces.jsonsafe import scrub_text
from workspaces.models import AuditChainHead, AuditEvent

from .models import Consent, Export, Suppression

logger = logging.getLogger("tern.exports")

CHUNK = 2000  # rows fetched per round trip: the most an export ever holds in memory
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
FORMATS = tuple(CONTENT_TYPES)
# The worker's limits for one export; the hard one stays under the broker's visibility timeout.
TIME_LIMIT, SOFT_TIME_LIMIT = 3300, 3240
# A pending export this old has lost its task (a crash between commit and enqueue): enqueue again.
REQUEUE_PENDING_AFTER = timedelta(minutes=2)

Rows = Callable[[str, date, date], Iterator[dict]]


@dataclass(frozen=True)
class ExportKind:
    """One kind of export: its columns, in order, and where its rows come from."""

    name: str
    fields: tuple[str, ...]
    rows: Rows


_KINDS: dict[str, ExportKind] = {}


def register_export_kind(name: str, *, fields: list[str], rows: Rows) -> None:
    """Offer a kind of export; `rows(workspace_id, date_from, date_to)` yields {field: value}.

    The rows must be the workspace's only, created in [date_from 00:00, date_to + 1 day 00:00)
    UTC, and streamed (see `stream_values`), never loaded whole. Registering a name again
    replaces it.
    """
    _KINDS[name] = ExportKind(name, tuple(fields), rows)


def export_kinds() -> list[str]:
    """The names of every registered kind."""
    return sorted(_KINDS)


def export_kind(name: str) -> ExportKind:
    """The registered kind of this name, or `validation_error`."""
    try:
        return _KINDS[name]
    except KeyError:
        raise TernError(
            "validation_error",
            details={"kind": [f"Unknown kind {name!r}; one of: {', '.join(export_kinds())}."]},
        ) from None


def day_range(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The inclusive UTC dates as a half-open range of instants: [from 00:00, to + 1 day 00:00)."""
    start = datetime.combine(date_from, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return start, end


def stream_values(queryset, columns: dict) -> Iterator[dict]:
    """The queryset's rows as {field: value}, `CHUNK` at a time (a server-side cursor on PG).

    `columns` maps each export field to a model field name or an expression.
    """
    names = list(columns)
    for values in queryset.values_list(*columns.values()).iterator(chunk_size=CHUNK):
        yield dict(zip(names, values, strict=True))


def created_between(model, workspace_id: str, date_from: date, date_to: date):
    """The workspace's rows of `model` created within the inclusive UTC dates."""
    start, end = day_range(date_from, date_to)
    return model.objects.for_workspace(workspace_id).filter(
        created_at__gte=start, created_at__lt=end
    )


def blank_as_null(field: str) -> NullIf:
    """The text column, with '' read as null (as the API resources show it)."""
    return NullIf(field, Value(""), output_field=TextField())


# --- compliance's own kinds ----------------------------------------------------------------------

CONSENT_COLUMNS = {
    "id": "id",
    "action": "action",
    "phone": "phone",
    "scope": "scope",
    "category": "category",
    "method": "method",
    "disclosure": "disclosure",
    "captured_at": "captured_at",
    "ip": "ip",
    "user_agent": "user_agent",
    "source_url": "source_url",
    "created_at": "created_at",
    "created_by": "created_by",
}
SUPPRESSION_COLUMNS = {
    "id": "id",
    "phone": "phone",
    "scope": "scope",
    "campaign": blank_as_null("campaign_id"),
    "source": "source",
    "reason": "reason",
    "active": "active",
    "created_at": "created_at",
    "created_by": "created_by",
    "removed_at": "removed_at",
    "removed_by": blank_as_null("removed_by"),
    "removal_reason": blank_as_null("removal_reason"),
}
AUDIT_EVENT_COLUMNS = {
    "id": "id",
    "seq": "seq",
    "created_at": "created_at",
    "actor_type": "actor_type",
    "actor_id": "actor_id",
    "actor_label": "actor_label",
    "action": "action",
    "target_type": "target_type",
    "target_id": "target_id",
    "reason": "reason",
    "before": "before",
    "after": "after",
    "ip": "ip",
    "prev_hash": "prev_hash",
    "hash": "hash",
}


def consent_rows(workspace_id: str, date_from: date, date_to: date) -> Iterator[dict]:
    """Consent records (grants and revocations) in the order they were recorded."""
    queryset = created_between(Consent, workspace_id, date_from, date_to)
    return stream_values(queryset.order_by("created_at", "id"), CONSENT_COLUMNS)


def suppression_rows(workspace_id: str, date_from: date, date_to: date) -> Iterator[dict]:
    """Suppressions created in the range, removed ones included (with who removed them, why)."""
    queryset = created_between(Suppression, workspace_id, date_from, date_to)
    return stream_values(queryset.order_by("created_at", "id"), SUPPRESSION_COLUMNS)


def audit_event_rows(workspace_id: str, date_from: date, date_to: date) -> Iterator[dict]:
    """Audit events in chain order, with the hashes that let anyone re-check the links."""
    queryset = created_between(AuditEvent, workspace_id, date_from, date_to)
    return stream_values(queryset.order_by("seq"), AUDIT_EVENT_COLUMNS)


register_export_kind("consents", fields=list(CONSENT_COLUMNS), rows=consent_rows)
register_export_kind("suppressions", fields=list(SUPPRESSION_COLUMNS), rows=suppression_rows)
register_export_kind("audit_events", fields=list(AUDIT_EVENT_COLUMNS), rows=audit_event_rows)


# --- the resource ------------------------------------------------------------------------------


def download_url(export: Export, base_url: str | None = None) -> str:
    """The absolute URL of the export's download (PUBLIC_BASE_URL outside a request)."""
    base = (base_url or settings.PUBLIC_BASE_URL).rstrip("/")
    return base + reverse("export-download", kwargs={"pk": export.pk})


def export_resource(export: Export, base_url: str | None = None) -> dict:
    """An export as the API and the `export.completed` event show it."""
    return {
        "id": export.id,
        "kind": export.kind,
        "format": export.format,
        "from": export.date_from.isoformat(),
        "to": export.date_to.isoformat(),
        "status": export.status,
        "rows": export.rows,
        "sha256": export.sha256 or None,
        "download_url": download_url(export, base_url),
        "manifest": export.manifest or None,
        "error": export.error or None,
        "created_by": export.created_by,
        "created_at": clock.isoformat(export.created_at),
        "completed_at": clock.isoformat(export.completed_at),
        "expires_at": clock.isoformat(export.expires_at),
    }


# --- create, run, download, sweep ------------------------------------------------------------


@transaction.atomic
def export_create(
    *,
    workspace_id: str,
    kind: str,
    format: str,
    date_from: date,
    date_to: date,
    actor: Actor,
    ip: str | None = None,
) -> Export:
    """Record a pending export, audited; its task is enqueued once the transaction commits."""
    export_kind(kind)
    if format not in FORMATS:
        raise TernError("validation_error", details={"format": [f"One of: {', '.join(FORMATS)}."]})
    if date_from > date_to:
        raise TernError("validation_error", details={"to": ["`to` must not be before `from`."]})
    export = Export.objects.create(
        workspace_id=workspace_id,
        kind=kind,
        format=format,
        date_from=date_from,
        date_to=date_to,
        created_at=clock.now(),
        created_by=actor.label[:254],
    )
    audit_record(
        workspace=workspace_id,
        actor=actor,
        action="export.created",
        target=export,
        ip=ip,
        after={"kind": kind, "format": format, "from": date_from, "to": date_to},
    )
    enqueue_on_commit(export.id)
    return export


def enqueue_on_commit(export_id: str) -> None:
    """Run the export on the worker once the current transaction commits."""
    from .tasks import export_run as task

    publish_on_commit(task, (export_id,), queue="default")


def export_path(export: Export) -> Path:
    """Where the export's data file lives: EXPORTS_DIR/<workspace>/<export id>.<format>."""
    return Path(settings.EXPORTS_DIR) / export.workspace_id / f"{export.id}.{export.format}"


def _part_path(export: Export) -> Path:
    """The file being written; renamed into place only when complete."""
    final = export_path(export)
    return final.with_name(final.name + ".part")


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
        return _fail(export, failure_words(exc))


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
    part = _part_path(export)
    part.parent.mkdir(parents=True, exist_ok=True)
    with _snapshot():
        head = chain_head(export.workspace_id)
        rows = kind.rows(export.workspace_id, export.date_from, export.date_to)
        with open(part, "wb", buffering=1 << 20) as raw:
            sink = _HashingSink(raw)
            count = _WRITERS[export.format](sink, kind.fields, rows)
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


def chain_head(workspace_id: str) -> dict:
    """The workspace's audit chain head, as a manifest records it."""
    head = AuditChainHead.objects.filter(workspace_id=workspace_id).first()
    if head is None:
        return {"hash": GENESIS_HASH, "count": 0, "event_id": None}
    return {"hash": head.head_hash, "count": head.count, "event_id": head.head_event_id or None}


def _complete(export: Export, *, head: dict, rows: int, digest: str) -> Export:
    """Move the file into place and mark the export completed, under the row's lock."""
    part, final = _part_path(export), export_path(export)
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
        locked.manifest = _manifest(locked, head)
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


def _manifest(export: Export, head: dict) -> dict:
    """What the file is, who asked for it, when, and the audit chain head it was made against."""
    return {
        "export": export.id,
        "workspace": export.workspace_id,
        "kind": export.kind,
        "format": export.format,
        "fields": list(export_kind(export.kind).fields),
        "filters": {"from": export.date_from.isoformat(), "to": export.date_to.isoformat()},
        "created_by": export.created_by,
        "created_at": clock.isoformat(export.created_at),
        "completed_at": clock.isoformat(export.completed_at),
        "rows": export.rows,
        "sha256": export.sha256,
        "audit_chain_head": head,
    }


def _fail(export: Export, error: str) -> Export:
    """Record the failure and remove whatever was written."""
    _part_path(export).unlink(missing_ok=True)
    export_path(export).unlink(missing_ok=True)
    Export.objects.filter(pk=export.pk, status=Export.RUNNING).update(
        status=Export.FAILED, error=error[:2000]
    )
    export.refresh_from_db()
    return export


def export_open(*, export: Export, actor: Actor, ip: str | None = None):
    """Open a completed export's file for download, audited; (file, name, content type).

    `invalid_state` until it is completed; `not_found` once it has expired or its file is gone.
    """
    if export.status != Export.COMPLETED:
        raise TernError(
            "invalid_state",
            f"The export is {export.status}; it can be downloaded once completed.",
            details={"status": export.status, "error": export.error or None},
        )
    if not export.file_name or clock.now() >= export.expires_at:
        raise TernError(
            "not_found",
            "The export's file has expired (files are kept 7 days); create the export again.",
            details={"expires_at": clock.isoformat(export.expires_at)},
        )
    try:
        handle = open(Path(settings.EXPORTS_DIR) / export.file_name, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise TernError("not_found", "The export's file is gone; create it again.") from None
    try:
        audit_record(
            workspace=export.workspace_id,
            actor=actor,
            action="export.downloaded",
            target=export,
            ip=ip,
            after={"sha256": export.sha256, "rows": export.rows},
        )
    except BaseException:
        handle.close()
        raise
    name = f"{export.kind}_{export.date_from}_{export.date_to}_{export.id}.{export.format}"
    return handle, name, CONTENT_TYPES[export.format]


def export_sweep() -> dict:
    """Beat: remove expired files, re-enqueue lost pending exports, fail interrupted runs."""
    return {
        "expired": _sweep_expired(),
        "requeued": _sweep_lost_pending(),
        "interrupted": _sweep_interrupted(),
    }


def _sweep_expired() -> int:
    """Delete the files of exports past `expires_at`; the rows stay (status still completed)."""
    due = Export.objects.filter(status=Export.COMPLETED, expires_at__lte=clock.now()).exclude(
        file_name=""
    )
    removed = 0
    for export_id, file_name in due.values_list("id", "file_name").iterator(chunk_size=CHUNK):
        (Path(settings.EXPORTS_DIR) / file_name).unlink(missing_ok=True)
        removed += Export.objects.filter(pk=export_id).update(file_name="")
    return removed


def _sweep_lost_pending() -> int:
    """Pending exports whose task went missing are enqueued again (a duplicate finds no claim)."""
    cutoff = clock.now() - REQUEUE_PENDING_AFTER
    ids = list(
        Export.objects.filter(status=Export.PENDING, created_at__lte=cutoff).values_list(
            "id", flat=True
        )[:500]
    )
    for export_id in ids:
        enqueue_on_commit(export_id)
    return len(ids)


def _sweep_interrupted() -> int:
    """Fail running exports whose worker died: no write to their file for over the time limit.

    A live run's file is created when it starts and cannot outlive the hard time limit, so a
    file untouched for longer belongs to a run that is gone.
    """
    failed = 0
    for export in Export.objects.filter(status=Export.RUNNING).iterator(chunk_size=CHUNK):
        part = _part_path(export)
        try:
            idle = time.time() - part.stat().st_mtime
        except FileNotFoundError:
            continue  # just claimed, or just completed: nothing to judge yet
        if idle > TIME_LIMIT + 60:
            _fail(export, "The export was interrupted (its worker stopped); create it again.")
            failed += 1
    return failed


# --- writers ---------------------------------------------------------------------------------


class _HashingSink:
    """A text sink that encodes, hashes and writes as it goes: the digest is of the bytes."""

    def __init__(self, raw):
        self.raw = raw
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate stored before the API refused them
            data = scrub_text(text).encode()
        self.digest.update(data)
        self.raw.write(data)
        return len(text)


def _json_default(value):
    if isinstance(value, datetime):
        return clock.isoformat(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


# How a value reads in a CSV cell: times in ISO 8601 Z, decimals in full, JSON for structures.
_CELL = {
    type(None): lambda v: "",
    bool: lambda v: "true" if v else "false",
    datetime: clock.isoformat,
    date: date.isoformat,
    Decimal: lambda v: format(v, "f"),
    dict: _json,
    list: _json,
}


def _cell(value):
    convert = _CELL.get(type(value))
    return convert(value) if convert else value


def write_csv(sink, fields: tuple[str, ...], rows: Iterator[dict]) -> int:
    """A header, then one line per row (RFC 4180, formula-safe); returns the number of rows."""
    sink.write(csv_line(fields))
    count = 0
    for row in rows:
        sink.write(csv_line(_cell(row[f]) for f in fields))
        count += 1
    return count


def write_jsonl(sink, fields: tuple[str, ...], rows: Iterator[dict]) -> int:
    """One JSON object per line, keys in the kind's order; returns the number of rows."""
    count = 0
    for row in rows:
        sink.write(_json({f: row[f] for f in fields}) + "\n")
        count += 1
    return count


_WRITERS = {"csv": write_csv, "jsonl": write_jsonl}
