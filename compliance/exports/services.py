"""Export writes of the API: create one (its task follows the commit), open one for download."""

from datetime import UTC, date, datetime
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import transaction

from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.enqueue import publish_on_commit
from workspaces.errors import TernError

from ..models import Export
from .files import CONTENT_TYPES, FORMATS
from .kinds import export_kind

RUN_TASK = "compliance.tasks.export_run"


def _selection(kind, date_from, date_to, phone, as_of) -> tuple[date, date, dict]:
    """(date_from, date_to, filters): a bundle kind reads a phone and a moment, others dates."""
    if kind.bundle:
        if not phone:
            raise TernError("validation_error", details={"phone": ["Required for this kind."]})
        as_of = as_of or clock.now()
        day = as_of.astimezone(UTC).date()
        return day, day, {"phone": phone, "as_of": clock.isoformat(as_of)}
    missing = {
        f: ["Required for this kind."] for f, v in (("from", date_from), ("to", date_to)) if not v
    }
    if missing:
        raise TernError("validation_error", details=missing)
    if date_from > date_to:
        raise TernError("validation_error", details={"to": ["`to` must not be before `from`."]})
    return date_from, date_to, {}


@transaction.atomic
def export_create(
    *,
    workspace_id: str,
    kind: str,
    format: str,
    actor: Actor,
    date_from: date | None = None,
    date_to: date | None = None,
    phone: str = "",
    as_of: datetime | None = None,
    ip: str | None = None,
) -> Export:
    """Record a pending export, audited; its task is enqueued once the transaction commits.

    Dated kinds take `date_from`/`date_to`; the `number` bundle takes `phone` (E.164) and
    `as_of` (default now) instead.
    """
    chosen = export_kind(kind)
    if format not in FORMATS:
        raise TernError("validation_error", details={"format": [f"One of: {', '.join(FORMATS)}."]})
    date_from, date_to, filters = _selection(chosen, date_from, date_to, phone, as_of)
    export = Export.objects.create(
        workspace_id=workspace_id,
        kind=kind,
        format=format,
        date_from=date_from,
        date_to=date_to,
        filters=filters,
        created_at=clock.now(),
        created_by=actor.label[:254],
    )
    audit_record(
        workspace=workspace_id,
        actor=actor,
        action="export.created",
        target=export,
        ip=ip,
        after={"kind": kind, "format": format, "from": date_from, "to": date_to, **filters},
    )
    enqueue_on_commit(export.id)
    return export


def enqueue_on_commit(export_id: str) -> None:
    """Run the export on the worker once the current transaction commits."""
    # By name: ComplianceConfig.ready() registers compliance.tasks, which sit above this module.
    publish_on_commit(current_app.tasks[RUN_TASK], (export_id,), queue="default")


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
