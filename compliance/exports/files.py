"""An export's files and what describes them: paths, the resource, the manifest, the chain head."""

from pathlib import Path

from django.conf import settings
from django.urls import reverse

from workspaces import clock
from workspaces.audit import GENESIS_HASH
from workspaces.models import AuditChainHead

from ..models import Export
from .kinds import export_kind

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
FORMATS = tuple(CONTENT_TYPES)


def export_path(export: Export) -> Path:
    """Where the export's data file lives: EXPORTS_DIR/<workspace>/<export id>.<format>."""
    return Path(settings.EXPORTS_DIR) / export.workspace_id / f"{export.id}.{export.format}"


def part_path(export: Export) -> Path:
    """The file being written; renamed into place only when complete."""
    final = export_path(export)
    return final.with_name(final.name + ".part")


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
        "phone": export.filters.get("phone"),
        "as_of": export.filters.get("as_of"),
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


def chain_head(workspace_id: str) -> dict:
    """The workspace's audit chain head, as a manifest records it."""
    head = AuditChainHead.objects.filter(workspace_id=workspace_id).first()
    if head is None:
        return {"hash": GENESIS_HASH, "count": 0, "event_id": None}
    return {"hash": head.head_hash, "count": head.count, "event_id": head.head_event_id or None}


def filters_of(export: Export) -> dict:
    """What the export selected: a bundle's own filters (phone, as_of), else its dates."""
    if export.filters:
        return dict(export.filters)
    return {"from": export.date_from.isoformat(), "to": export.date_to.isoformat()}


def manifest(export: Export, head: dict) -> dict:
    """What the file is, who asked for it, when, and the audit chain head it was made against."""
    return {
        "export": export.id,
        "workspace": export.workspace_id,
        "kind": export.kind,
        "format": export.format,
        "fields": list(export_kind(export.kind).fields),
        "filters": filters_of(export),
        "created_by": export.created_by,
        "created_at": clock.isoformat(export.created_at),
        "completed_at": clock.isoformat(export.completed_at),
        "rows": export.rows,
        "sha256": export.sha256,
        "audit_chain_head": head,
    }
