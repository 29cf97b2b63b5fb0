"""Writes of compliance records; each audited in the caller's transaction."""

from django.db import transaction

from webhooks.events import emit
from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.errors import TernError
from workspaces.locks import phone_lock

from .models import Consent, Suppression
from .resources import suppression_resource
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
    emit(
        workspace_id=workspace_id,
        test=False,
        type="suppression.created",
        data=suppression_resource(suppression),
    )
    return suppression, True


@transaction.atomic
def suppression_remove(
    *, suppression: Suppression, actor: Actor, reason: str, ip: str | None = None
) -> Suppression:
    """Lift an active suppression for a recorded reason; an inactive one is `invalid_state`."""
    reason = (reason or "").strip()
    if not reason:
        raise TernError(
            "validation_error",
            "A suppression is removed only for a recorded reason.",
            details={"reason": ["This field is required."]},
        )
    locked = Suppression.objects.select_for_update().get(pk=suppression.pk)
    if not locked.active:
        raise TernError(
            "invalid_state",
            "This suppression was removed already.",
            details={"removed_at": clock.isoformat(locked.removed_at)},
        )
    locked.active = False
    locked.removed_at = clock.now()
    locked.removed_by = actor.label
    locked.removal_reason = reason
    locked.save(update_fields=["active", "removed_at", "removed_by", "removal_reason"])
    audit_record(
        workspace=locked.workspace_id,
        actor=actor,
        action="suppression.removed",
        target=locked,
        reason=reason,
        ip=ip,
        before={"active": True},
        after={"active": False, "phone": locked.phone, "scope": locked.scope},
    )
    emit(
        workspace_id=locked.workspace_id,
        test=False,
        type="suppression.removed",
        data=suppression_resource(locked),
    )
    return locked


CONSENT_AUDIT_ACTIONS = {Consent.GRANT: "consent.granted", Consent.REVOKE: "consent.revoked"}


@transaction.atomic
def consent_record(
    *,
    workspace_id: str,
    phone: str,
    action: str = Consent.GRANT,
    method: str,
    actor: Actor,
    scope: str = "workspace",
    category: str = "marketing",
    disclosure: str = "",
    captured_at=None,
    ip: str = "",
    user_agent: str = "",
    source_url: str = "",
    request_ip: str | None = None,
) -> Consent:
    """Append a grant or revocation to the consent history (never edited); audited."""
    now = clock.now()
    consent = Consent.objects.create(
        workspace_id=workspace_id,
        phone=phone,
        scope=scope,
        category=category,
        action=action,
        method=method,
        disclosure=disclosure,
        captured_at=captured_at or now,
        ip=ip or "",
        user_agent=user_agent or "",
        source_url=source_url or "",
        created_at=now,
        created_by=actor.label,
    )
    audit_record(
        workspace=workspace_id,
        actor=actor,
        action=CONSENT_AUDIT_ACTIONS[action],
        target=consent,
        ip=request_ip,
        after={
            "phone": phone,
            "scope": scope,
            "category": category,
            "method": method,
            "disclosure": disclosure,
        },
    )
    return consent
