"""Removing a suppression: soft, with a required reason, audited in the same transaction."""

from django.db import transaction

from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.errors import TernError

from .models import Suppression


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
    return locked
