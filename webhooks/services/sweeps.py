"""Sweeps and replays: hand out due deliveries again, replay one or an endpoint's failed ones."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q

from workspaces import clock
from workspaces.audit import Actor, audit_record

from ..events import HANDOFF_LEASE, enqueue_many_on_commit, enqueue_on_commit
from ..models import WebhookDelivery, WebhookEndpoint

# Deliveries handed out per sweep (every 15 s): a whole backlog at once, for the workers' pace.
SWEEP_LIMIT = 5000


def delivery_replay(
    *, delivery: WebhookDelivery, actor: Actor, ip: str | None = None, reason: str = ""
) -> WebhookDelivery:
    """Deliver the same event (same webhook-id) again, on a fresh schedule; audited."""
    with transaction.atomic():
        now = clock.now()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.PENDING,
            step=0,
            next_retry_at=now,
            leased_until=now + HANDOFF_LEASE,
        )
        audit_record(
            workspace=delivery.workspace_id,
            actor=actor,
            ip=ip,
            target=delivery,
            action="webhook_delivery.replayed",
            reason=reason,
        )
        enqueue_on_commit(delivery.id)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def endpoint_replay_failed(
    *, endpoint: WebhookEndpoint, since, until, actor: Actor, ip: str | None = None
) -> int:
    """Replay the endpoint's failed deliveries created in [since, until); one audit event."""
    failed = WebhookDelivery.objects.filter(
        endpoint=endpoint,
        status=WebhookDelivery.FAILED,
        created_at__gte=since,
        created_at__lt=until,
    )
    ids, now = list(failed.values_list("id", flat=True)), clock.now()
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.PENDING,
        step=0,
        next_retry_at=now,
        leased_until=now + HANDOFF_LEASE,
    )
    enqueue_many_on_commit(ids)
    audit_record(
        workspace=endpoint.workspace_id,
        actor=actor,
        ip=ip,
        target=endpoint,
        action="webhook_endpoint.replayed",
        after={"since": since, "until": until, "replayed": len(ids)},
    )
    return len(ids)


def sweep_due_deliveries(*, limit: int = SWEEP_LIMIT) -> int:
    """Hand out pending deliveries that are due and held by no task: long waits, and tasks lost
    with a worker or the broker (their lease passed). Each gets a new lease in the same
    transaction, so a task still waiting in the broker is never enqueued a second time."""
    now = clock.now()
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now),
            status=WebhookDelivery.PENDING,
            next_retry_at__lte=now,
        )
        rows = list(
            due.order_by("next_retry_at")
            .select_for_update(skip_locked=True)
            .only("id", "next_retry_at")[:limit]
        )
        for row in rows:
            row.leased_until = now + handoff_lease(now - row.next_retry_at)
        WebhookDelivery.objects.bulk_update(rows, ["leased_until"], batch_size=500)
        enqueue_many_on_commit([row.id for row in rows])
    return len(rows)


def handoff_lease(waited: timedelta) -> timedelta:
    """How long a task handed to the broker is trusted to be still there: at least HANDOFF_LEASE,
    and as long as the delivery has already waited since it came due. Under a broker backlog
    longer than the lease, each re-handoff doubles the trust, so a delivery waiting an hour is
    enqueued about four times, not twelve (each duplicate is a no-op, but still a task)."""
    return max(HANDOFF_LEASE, waited)
