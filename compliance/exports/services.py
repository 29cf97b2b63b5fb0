"""Export writes of the API: create one (its task follows the commit), open one for download."""

from datetime import date
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
