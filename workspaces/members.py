"""Members (CONTRACT §11): role changes, removal, leaving, ownership, two-factor reset, and the
role rules invitations share; every write audited in its own transaction.

The API and the console both call these. `acting` is the membership whose role the rules weigh
(a token's creator, or the signed-in member); `actor` is who the audit log names.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from . import clock
from .audit import Actor, audit_record
from .errors import TernError
from .models import ApiToken, Membership
from .scopes import ADMIN, AGENT, CAMPAIGN_MANAGER, OWNER, VIEWER, scopes_for_role

# Who outranks whom: nobody grants a role above their own or changes someone above theirs.
ROLE_RANK = {VIEWER: 0, AGENT: 1, CAMPAIGN_MANAGER: 2, ADMIN: 3, OWNER: 4}


def roles_up_to(role: str) -> list[str]:
    """The roles a member of `role` may grant, highest first."""
    return [
        r for r, rank in sorted(ROLE_RANK.items(), key=lambda i: -i[1]) if rank <= ROLE_RANK[role]
    ]


def user_by_email(email: str):
    """The account with this email (compared case-insensitively), or None."""
    User = get_user_model()
    return User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).first()


def check_role(role: str) -> None:
    """400 unless `role` is one of owner admin campaign_manager agent viewer."""
    if role not in ROLE_RANK:
        raise TernError(
            "validation_error", f"Not a role: {role}.", details={"role": [f"Not a role: {role}"]}
        )


def forbid_above(acting: Membership, role: str, what: str) -> None:
    """403 when `role` ranks above the acting member's own."""
    if ROLE_RANK[role] > ROLE_RANK[acting.role]:
        raise TernError(
            "forbidden",
            f"A member with the role {acting.role} may not {what} {role}.",
            details={"role": acting.role, "required_role": role},
        )


def _require_owner(acting: Membership, what: str) -> None:
    if acting.role != OWNER:
        raise TernError(
            "forbidden",
            f"Only an owner may {what}.",
            details={"role": acting.role, "required_role": OWNER},
        )


def _other_owners(member: Membership) -> int:
    """Current owners besides this member, their rows locked so two demotions cannot cross."""
    owners = Membership.objects.current().for_workspace(member.workspace_id).filter(role=OWNER)
    return len(list(owners.select_for_update().exclude(pk=member.pk).values_list("pk", flat=True)))


def _guard_last_owner(member: Membership, what: str) -> None:
    if member.role == OWNER and _other_owners(member) == 0:
        raise TernError(
            "invalid_state",
            f"The last owner cannot {what}; make another member owner first.",
            details={"member": member.pk, "reason": "last_owner"},
        )


def is_current_member(workspace_id: str, email: str) -> bool:
    return (
        Membership.objects.current()
        .for_workspace(workspace_id)
        .filter(Q(user__email__iexact=email) | Q(user__username__iexact=email))
        .exists()
    )


def _narrow_tokens(member: Membership, role: str) -> list[str]:
    """Cut the member's live tokens down to the new role's scopes; the ids of those cut."""
    allowed, narrowed = scopes_for_role(role), []
    for token in ApiToken.objects.filter(created_by=member, revoked_at=None):
        kept = sorted(set(token.scopes) & allowed)
        if kept != sorted(token.scopes):
            ApiToken.objects.filter(pk=token.pk).update(scopes=kept)
            narrowed.append(token.pk)
    return narrowed


def _lock(member: Membership) -> Membership:
    locked = (
        Membership.objects.select_for_update(of=("self",))
        .current()
        .filter(pk=member.pk)
        .select_related("user")
        .first()
    )
    if locked is None:
        raise TernError("not_found")
    return locked


@transaction.atomic
def member_role_change(
    *, acting: Membership, member: Membership, role: str, actor: Actor, ip: str | None = None
) -> Membership:
    """Give a member another role; a demotion narrows their tokens at once."""
    check_role(role)
    locked = _lock(member)
    forbid_above(acting, locked.role, "change the role of a member who is")
    forbid_above(acting, role, "grant the role")
    if locked.role == role:
        return locked
    if role != OWNER:
        _guard_last_owner(locked, "be demoted")
    before = locked.role
    locked.role = role
    locked.save(update_fields=["role"])
    audit_record(
        workspace=locked.workspace_id,
        actor=actor,
        action="member.role_changed",
        target=locked,
        ip=ip,
        before={"role": before},
        after={"role": role, "tokens_narrowed": _narrow_tokens(locked, role)},
    )
    return locked


def _end(member: Membership, action: str, actor: Actor, ip: str | None) -> Membership:
    now = clock.now()
    member.removed_at = now
    member.save(update_fields=["removed_at"])
    live = ApiToken.objects.filter(created_by=member, revoked_at=None)
    revoked = list(live.values_list("pk", flat=True))
    live.update(revoked_at=now)
    audit_record(
        workspace=member.workspace_id,
        actor=actor,
        action=action,
        target=member,
        ip=ip,
        before={"email": member.user.email, "role": member.role},
        after={"removed_at": now, "tokens_revoked": revoked},
    )
    return member


@transaction.atomic
def member_remove(
    *, acting: Membership, member: Membership, actor: Actor, ip: str | None = None
) -> Membership:
    """Remove a member (kept as a removed row); their tokens are revoked."""
    locked = _lock(member)
    forbid_above(acting, locked.role, "remove a member who is")
    _guard_last_owner(locked, "be removed")
    return _end(locked, "member.removed", actor, ip)


@transaction.atomic
def member_leave(*, member: Membership, actor: Actor, ip: str | None = None) -> Membership:
    """Leave a workspace (not its last owner); one's tokens there are revoked."""
    locked = _lock(member)
    _guard_last_owner(locked, "leave")
    return _end(locked, "member.left", actor, ip)


@transaction.atomic
def ownership_transfer(
    *, acting: Membership, member: Membership, actor: Actor, ip: str | None = None
) -> Membership:
    """An owner hands ownership to another member and becomes an admin."""
    _require_owner(acting, "hand over ownership")
    locked, giver = _lock(member), _lock(acting)
    if locked.pk == giver.pk or locked.role == OWNER:
        raise TernError(
            "invalid_state", "This member is already an owner.", details={"member": locked.pk}
        )
    before = locked.role
    locked.role, giver.role = OWNER, ADMIN
    locked.save(update_fields=["role"])
    giver.save(update_fields=["role"])
    audit_record(
        workspace=locked.workspace_id,
        actor=actor,
        action="ownership.transferred",
        target=locked,
        ip=ip,
        before={"owner": giver.pk, "role": before},
        after={"owner": locked.pk, "previous_owner_role": ADMIN},
    )
    return locked


@transaction.atomic
def two_factor_reset(
    *, acting: Membership, member: Membership, actor: Actor, ip: str | None = None
) -> Membership:
    """An owner removes a member's two-factor (TOTP and recovery codes): they set it up again."""
    from allauth.mfa.models import Authenticator

    _require_owner(acting, "reset a member's two-factor")
    locked = _lock(member)
    removed, _ = Authenticator.objects.filter(user_id=locked.user_id).delete()
    audit_record(
        workspace=locked.workspace_id,
        actor=actor,
        action="two_factor.reset",
        target=locked,
        ip=ip,
        after={"email": locked.user.email, "authenticators_removed": removed},
    )
    return locked
