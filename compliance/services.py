"""Writes of compliance records; each audited in the caller's transaction."""

from django.db import transaction

from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.locks import phone_lock

from .models import Suppression
from .selectors import active_suppressions


@transaction.atomic
def suppression_create(
    *,
    workspace_id: str,
    phone: str,
    source: str,
    actor: Actor,
    reason: str = "",
    scope: str = Suppression.WORKSPACE,
    campaign_id: str = "",
    ip: str | None = None,
) -> tuple[Suppression, bool]:
    """Suppress a number; an active duplicate is returned as it is. Returns (row, created).

    Written under the (workspace, phone) lock, the one a send's claim takes: a suppression that
    commits before a claim always stops that message.
    """
    phone_lock(workspace_id=workspace_id, phone=phone)
    existing = (
        active_suppressions(workspace_id=workspace_id, phone=phone)
        .filter(scope=scope, campaign_id=campaign_id)
        .first()
    )
    if existing:
        return existing, False
    suppression = Suppression.objects.create(
        workspace_id=workspace_id,
        phone=phone,
        scope=scope,
        campaign_id=campaign_id,
        source=source,
        reason=reason,
        created_at=clock.now(),
        created_by=actor.label,
    )
    audit_record(
        workspace=workspace_id,
        actor=actor,
        action="suppression.created",
        target=suppression,
        reason=reason,
        ip=ip,
        after={"phone": phone, "scope": scope, "campaign": campaign_id or None, "source": source},
    )
    return suppression, True
