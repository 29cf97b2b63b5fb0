"""How tokens, the workspace, senders and audit events look from outside (CONTRACT §2, §9)."""

from . import clock
from .clock import isoformat
from .models import ApiToken, AuditEvent, Invitation, Membership, Sender, Workspace
from .selectors import month_to_date_spend


def token_resource(token: ApiToken) -> dict:
    """A token as listed: never its secret."""
    return {
        "id": token.id,
        "name": token.name,
        "scopes": token.scopes,
        "mode": token.mode,
        "prefix": token.prefix,
        "created_at": isoformat(token.created_at),
        "created_by": token.created_by.user.email,
        "expires_at": isoformat(token.expires_at),
        "last_used_at": isoformat(token.last_used_at),
        "revoked_at": isoformat(token.revoked_at),
    }


def workspace_resource(workspace: Workspace) -> dict:
    """The workspace's settings and this month's spend."""
    limit = workspace.spend_limit
    return {
        "id": workspace.id,
        "slug": workspace.slug,
        "name": workspace.name,
        "currency": workspace.currency,
        "test_mode": workspace.test_mode,
        "spend_limit": None if limit is None else f"{limit:.4f}",
        "month_to_date_spend": f"{month_to_date_spend(workspace=workspace):.4f}",
        "allowed_countries": workspace.allowed_countries,
        "verified_recipients": workspace.verified_recipients,
        "duplicate_window_seconds": workspace.duplicate_window_seconds,
        "rate_limit_per_second": workspace.rate_limit_per_second,
        "default_sender": workspace.default_sender,
        "default_country": workspace.default_country,
        "help_text": workspace.help_text,
        "blocked_terms": workspace.blocked_terms,
        "provider": workspace.provider,
        "require_two_factor": workspace.require_two_factor,
        "timezone": workspace.timezone,
    }


def _has_two_factor(member: Membership) -> bool:
    if hasattr(member, "has_two_factor"):  # annotated by selectors.member_list
        return member.has_two_factor
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user_id=member.user_id, type="totp").exists()


def member_resource(member: Membership) -> dict:
    """A member: the person, their role, two-factor, when they joined and were last seen."""
    user = member.user
    return {
        "id": member.pk,
        "email": user.email,
        "name": user.get_full_name(),
        "role": member.role,
        "two_factor": _has_two_factor(member),
        "joined_at": isoformat(member.created_at),
        "last_seen_at": isoformat(user.last_login),
        "removed_at": isoformat(member.removed_at),
    }


def invitation_resource(invitation: Invitation) -> dict:
    """An invitation as listed: never its key."""
    inviter = invitation.invited_by
    return {
        "id": invitation.pk,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status_at(clock.now()),
        "invited_by": inviter.user.email if inviter else None,
        "created_at": isoformat(invitation.created_at),
        "expires_at": isoformat(invitation.expires_at),
    }


def sender_resource(sender: Sender) -> dict:
    """A sending number."""
    return {
        "id": sender.id,
        "number": sender.number,
        "kind": sender.kind,
        "country": sender.country,
        "sms_capable": sender.sms_capable,
        "toll_free_verified": sender.toll_free_verified,
        "mps": sender.mps,
        "created_at": isoformat(sender.created_at),
    }


def audit_event_resource(event: AuditEvent) -> dict:
    """An audit event with its place in the chain."""
    return {
        "id": event.id,
        "seq": event.seq,
        "action": event.action,
        "actor": {"type": event.actor_type, "id": event.actor_id, "label": event.actor_label},
        "target": {"type": event.target_type, "id": event.target_id},
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "created_at": isoformat(event.created_at),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
