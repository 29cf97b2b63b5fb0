"""Reads of workspaces, spend, audit events and health."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from . import clock
from .models import AuditEvent, Heartbeat, Invitation, Membership, Sender, SpendMonth, Workspace


def month_start(moment=None) -> date:
    """The first day of the UTC month of `moment` (default now): the key of the spend row."""
    moment = moment or clock.now()
    return date(moment.year, moment.month, 1)


def month_to_date_spend(*, workspace: Workspace) -> Decimal:
    """Reservations plus settled charges of the current UTC month."""
    row = SpendMonth.objects.for_workspace(workspace).filter(month=month_start()).first()
    return row.amount if row else Decimal("0.0000")


def sender_list(*, workspace: Workspace) -> QuerySet[Sender]:
    """The workspace's active senders."""
    return Sender.objects.for_workspace(workspace).filter(removed_at=None)


def sender_get_active(*, workspace: Workspace, number: str) -> Sender | None:
    """The workspace's active sender with this number, if it has one."""
    return sender_list(workspace=workspace).filter(number=number).first()


def audit_event_list(
    *, workspace: Workspace, action: str | None = None, created_after=None
) -> QuerySet[AuditEvent]:
    """The workspace's audit events, optionally by action and start time."""
    events = AuditEvent.objects.for_workspace(workspace)
    if action:
        events = events.filter(action=action)
    if created_after:
        events = events.filter(created_at__gte=created_after)
    return events


def heartbeat_states() -> dict[str, str]:
    """`ok` or `stale` for the worker and the scheduler, by their last heartbeat."""
    fresh_since = clock.now() - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
    fresh = Heartbeat.objects.filter(beat_at__gte=fresh_since)
    # Each worker process beats on its own row (`worker:<name>`); any one fresh is a live worker.
    worker = fresh.filter(name__startswith="worker").exists()
    scheduler = fresh.filter(name="scheduler").exists()
    return {"worker": "ok" if worker else "stale", "scheduler": "ok" if scheduler else "stale"}


def member_list(*, workspace: Workspace | str) -> QuerySet[Membership]:
    """The workspace's current members with their accounts and `has_two_factor`, oldest first."""
    from allauth.mfa.models import Authenticator

    totp = Authenticator.objects.filter(user=OuterRef("user"), type=Authenticator.Type.TOTP)
    return (
        Membership.objects.current()
        .for_workspace(workspace)
        .select_related("user")
        .annotate(has_two_factor=Exists(totp))
        .order_by("created_at", "pk")
    )


def invitation_list(*, workspace: Workspace | str) -> QuerySet[Invitation]:
    """The workspace's invitations (not owner set-up links), newest first."""
    return (
        Invitation.objects.for_workspace(workspace)
        .filter(kind=Invitation.INVITE)
        .select_related("invited_by__user")
        .order_by("-created_at", "-pk")
    )
