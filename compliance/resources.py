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


def consent_resource(consent) -> dict:
    """A consent record as CONTRACT §6 shows it."""
    return {
        "id": consent.id,
        "action": consent.action,
        "phone": consent.phone,
        "scope": consent.scope,
        "category": consent.category,
        "method": consent.method,
        "disclosure": consent.disclosure,
        "captured_at": isoformat(consent.captured_at),
        "ip": consent.ip,
        "user_agent": consent.user_agent,
        "source_url": consent.source_url,
        "created_at": isoformat(consent.created_at),
        "created_by": consent.created_by,
    }
