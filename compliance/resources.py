"""How compliance records look from outside (the API and webhook payloads)."""

from workspaces.clock import isoformat

from .models import Suppression


def suppression_resource(suppression: Suppression) -> dict:
    """A suppression as CONTRACT §6 shows it."""
    return {
        "id": suppression.id,
        "phone": suppression.phone,
        "scope": suppression.scope,
        "campaign": suppression.campaign_id or None,
        "source": suppression.source,
        "reason": suppression.reason,
        "active": suppression.active,
        "created_at": isoformat(suppression.created_at),
        "created_by": suppression.created_by,
        "removed_at": isoformat(suppression.removed_at),
        "removed_by": suppression.removed_by or None,
        "removal_reason": suppression.removal_reason or None,
    }
