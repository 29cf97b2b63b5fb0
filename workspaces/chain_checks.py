"""Chain checks: the audit verifier run on the worker for one workspace, its verdict kept."""

from datetime import timedelta

from django.db import transaction

from . import clock
from .audit import Actor, verify_chain
from .enqueue import publish_on_commit
from .models import AuditChainCheck

UNFINISHED = (AuditChainCheck.PENDING, AuditChainCheck.RUNNING)
# A check unfinished after this long lost its task or its worker: a new request starts afresh.
STALE_AFTER = timedelta(minutes=10)


def chain_check_latest(*, workspace_id: str) -> AuditChainCheck | None:
    """The workspace's most recent chain check, finished or not."""
    checks = AuditChainCheck.objects.for_workspace(workspace_id)
    return checks.order_by("-requested_at", "-id").first()


@transaction.atomic
def chain_check_request(*, workspace_id: str, actor: Actor) -> AuditChainCheck:
    """Queue a verification of the workspace's chain; one already waiting or running is reused.

    Nothing changes but this record, so it is not itself audited (it would move the head it
    is about to verify).
    """
    waiting = AuditChainCheck.objects.for_workspace(workspace_id).filter(
        status__in=UNFINISHED, requested_at__gte=clock.now() - STALE_AFTER
    )
    existing = waiting.select_for_update().order_by("-requested_at").first()
    if existing is not None:
        return existing
    check = AuditChainCheck.objects.create(
        workspace_id=workspace_id, requested_by=actor.label[:254], requested_at=clock.now()
    )
    from .tasks import audit_chain_check  # the task module reaches back here when it runs

    publish_on_commit(audit_chain_check, (check.id,), queue="default")
    return check


def chain_check_run(*, check_id: str) -> AuditChainCheck | None:
    """Claim a pending check, walk the chain, keep the verdict (safe to run twice)."""
    claimed = AuditChainCheck.objects.filter(pk=check_id, status=AuditChainCheck.PENDING).update(
        status=AuditChainCheck.RUNNING
    )
    if not claimed:
        return None
    check = AuditChainCheck.objects.get(pk=check_id)
    report = verify_chain(check.workspace_id)
    check.status, check.finished_at = AuditChainCheck.DONE, clock.now()
    check.ok, check.count = report.ok, report.count
    check.broken_event_id, check.problem = report.broken_event_id or "", report.problem
    check.save(update_fields=["status", "finished_at", "ok", "count", "broken_event_id", "problem"])
    return check
