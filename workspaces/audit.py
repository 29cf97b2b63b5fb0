"""The audit log: append under a per-workspace lock, hash-chain, verify, and the DB guards."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

from . import clock
from .models import AuditChainHead, AuditEvent, Workspace

GENESIS_HASH = "0" * 64
TABLE = AuditEvent._meta.db_table


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, a token, staff in the admin, or the system itself."""

    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "tern") -> "Actor":
        """The platform acting on its own (sweepers, carrier reports)."""
        return cls("system", "", label)


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return clock.isoformat(value) if hasattr(value, "tzinfo") else value.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def canonical_json(value) -> str:
    """Sorted keys, no spaces, UTF-8: the one serialisation the chain hashes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def json_safe(value):
    """The value as it will read back from a JSON column: times as ISO 8601 Z, decimals as text."""
    return None if value is None else json.loads(canonical_json(value))


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the canonical JSON of every field of the event but its own hash."""
    body = {
        "id": event.id,
        "workspace": event.workspace_id,
        "seq": event.seq,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "created_at": clock.isoformat(event.created_at),
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def audit_record(
    *,
    workspace: Workspace | str,
    actor: Actor,
    action: str,
    target=None,
    target_type: str = "",
    target_id: str = "",
    reason: str = "",
    before=None,
    after=None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event to the workspace's chain, in the caller's transaction."""
    workspace_id = getattr(workspace, "pk", workspace)
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
    with transaction.atomic():
        head = _locked_head(workspace_id)
        event = AuditEvent(
            workspace_id=workspace_id,
            seq=head.count + 1,
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label[:254],
            action=action,
            # Text columns read back as text: hash what the database will hand back.
            target_type=str(target_type),
            target_id=str(target_id),
            reason=str(reason),
            before=json_safe(before),
            after=json_safe(after),
            ip=ip or None,
            created_at=clock.now(),
            prev_hash=head.head_hash,
        )
        event.hash = event_hash(event)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=head.pk).update(
            head_hash=event.hash, head_event_id=event.id, count=event.seq
        )
    return event


def _locked_head(workspace_id: str) -> AuditChainHead:
    """The chain head row, locked until the transaction ends (appends queue up behind it)."""
    AuditChainHead.objects.get_or_create(workspace_id=workspace_id)
    return AuditChainHead.objects.select_for_update().get(workspace_id=workspace_id)


@dataclass(frozen=True)
class ChainReport:
    """The verdict on one workspace's chain."""

    workspace_id: str
    ok: bool
    count: int
    broken_event_id: str | None = None
    problem: str = ""


def verify_chain(workspace_id: str) -> ChainReport:
    """Walk the chain in order; name the first event whose link or hash does not hold.

    The head is read first and the walk stops at its count: an event appended meanwhile commits
    with its head update, so it is left for the next run instead of looking like a forgery.
    """
    head = AuditChainHead.objects.filter(workspace_id=workspace_id).first()
    events = AuditEvent.objects.for_workspace(workspace_id).order_by("seq")
    if head:
        events = events.filter(seq__lte=head.count)
    expected_prev, expected_seq, last = GENESIS_HASH, 1, None
    for event in events.iterator(chunk_size=2000):
        problem = _link_problem(event, expected_seq, expected_prev)
        if problem:
            return ChainReport(workspace_id, False, expected_seq - 1, event.id, problem)
        expected_prev, expected_seq, last = event.hash, expected_seq + 1, event
    seen = expected_seq - 1
    broken = head and (_head_problem(head, seen, last) or _beyond_head_problem(head))
    if broken:
        return ChainReport(workspace_id, False, seen, *broken)
    return ChainReport(workspace_id, True, seen)


def _head_problem(head: AuditChainHead, seen: int, last: AuditEvent | None):
    """(event id, why) when the walked chain does not end where its head says, else None."""
    if seen < head.count:
        # The tail is gone: the head's own event is the one id still known.
        missing = head.head_event_id or f"seq {seen + 1}"
        return missing, f"events {seen + 1}-{head.count} are missing from the tail"
    if last is not None and last.hash != head.head_hash:
        return last.id, "the last event's hash is not the one the head records"
    return None


def _beyond_head_problem(head: AuditChainHead):
    """(event id, why) for an event past the head that no append accounts for, else None."""
    beyond = AuditEvent.objects.for_workspace(head.workspace_id).filter(seq__gt=head.count)
    first = beyond.order_by("seq").first()
    if first is None:
        return None
    now_count = AuditChainHead.objects.filter(pk=head.pk).values_list("count", flat=True).first()
    if now_count is not None and now_count >= first.seq:
        return None  # appended while we walked: its head update committed with it
    return first.id, f"sequence {first.seq} lies beyond the head ({head.count} events)"


def _link_problem(event: AuditEvent, expected_seq: int, expected_prev: str) -> str:
    """Why this event breaks the chain, or '' when it holds."""
    if event.seq != expected_seq:
        return f"sequence {event.seq} where {expected_seq} was expected"
    if event.prev_hash != expected_prev:
        return "prev_hash does not match the previous event's hash"
    if event.hash != event_hash(event):
        return "hash does not match the event's content"
    return ""


# --- The database's own guard: UPDATE, DELETE and TRUNCATE are refused -------------------------

_PG_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION tern_audit_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP; END
    $$ LANGUAGE plpgsql""",
    f"""CREATE TRIGGER tern_audit_no_change BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION tern_audit_append_only()""",
    f"""CREATE TRIGGER tern_audit_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION tern_audit_append_only()""",
]
_PG_REMOVE = [
    f"DROP TRIGGER IF EXISTS tern_audit_no_change ON {TABLE}",
    f"DROP TRIGGER IF EXISTS tern_audit_no_truncate ON {TABLE}",
]
# SQLite has no TRUNCATE: its `DELETE FROM t` is stopped by the DELETE trigger.
_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS tern_audit_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS tern_audit_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE refused'); END""",
]
_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS tern_audit_no_update",
    "DROP TRIGGER IF EXISTS tern_audit_no_delete",
]


def _run(statements: list[str], conn=None) -> None:
    with (conn or connection).cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install_guards(conn=None) -> None:
    """Create the triggers that make the audit table append-only."""
    conn = conn or connection
    _run(_PG_INSTALL if conn.vendor == "postgresql" else _SQLITE_INSTALL, conn)


def remove_guards(conn=None) -> None:
    """Drop those triggers (migrations backwards, and tests that prove the chain itself)."""
    conn = conn or connection
    _run(_PG_REMOVE if conn.vendor == "postgresql" else _SQLITE_REMOVE, conn)
