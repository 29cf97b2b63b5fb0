"""The registry of export kinds, the helpers a kind's rows are built with, and compliance's own."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import TextField, Value
from django.db.models.functions import NullIf

from workspaces.errors import TernError
from workspaces.models import AuditEvent

from ..models import Consent, Suppression

CHUNK = 2000  # rows fetched per round trip: the most an export ever holds in memory

Rows = Callable[[str, date, date], Iterator[dict]]


@dataclass(frozen=True)
class ExportKind:
    """One kind of export: its columns, in order, and where its rows come from."""

    name: str
    fields: tuple[str, ...]
    rows: Rows
    # A bundle reads one thing's filters (the `number` kind: phone, as_of) instead of dates:
    # its `rows(export, audit_chain_head)` gets the export itself.
    bundle: bool = False


_KINDS: dict[str, ExportKind] = {}


def register_export_kind(
    name: str, *, fields: list[str], rows: Rows | Callable, bundle: bool = False
) -> None:
    """Offer a kind of export; `rows(workspace_id, date_from, date_to)` yields {field: value}.

    The rows must be the workspace's only, created in [date_from 00:00, date_to + 1 day 00:00)
    UTC, and streamed (see `stream_values`), never loaded whole. Registering a name again
    replaces it. A `bundle` kind takes `rows(export, audit_chain_head)` instead (see ExportKind).
    """
    _KINDS[name] = ExportKind(name, tuple(fields), rows, bundle)


def export_kinds() -> list[str]:
    """The names of every registered kind."""
    return sorted(_KINDS)


def bundle_kinds() -> list[str]:
    """The kinds that take filters of their own instead of dates."""
    return sorted(name for name, kind in _KINDS.items() if kind.bundle)


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
