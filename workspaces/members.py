"""Members and invitations (CONTRACT §11): every write, each audited in its own transaction.

The API and the console both call these. `acting` is the membership whose role the rules weigh
(a token's creator, or the signed-in member); `actor` is who the audit log names.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from . import clock
from .audit import Actor, audit_record
from .errors import TernError
from .models import ApiToken, Invitation, Membership, Workspace
from .scopes import ADMIN, AGENT, CAMPAIGN_MANAGER, OWNER, VIEWER, scopes_for_role
from .services import hash_secret

INVITATION_DAYS = 7
# Who outranks whom: nobody grants a role above their own or changes someone above theirs.
ROLE_RANK = {VIEWER: 0, AGENT: 1, CAMPAIGN_MANAGER: 2, ADMIN: 3, OWNER: 4}


def roles_up_to(role: str) -> list[str]:
    """The roles a member of `role` may grant, highest first."""
    return [
        r for r, rank in sorted(ROLE_RANK.items(), key=lambda i: -i[1]) if rank <= ROLE_RANK[role]
    ]


def join_url(key: str) -> str:
    """The public link an invitation's key opens."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/join/{key}/"


def user_by_email(email: str):
    """The account with this email (compared case-insensitively), or None."""
    User = get_user_model()
    return User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).first()


def _check_role(role: str) -> None:
    if role not in ROLE_RANK:
        raise TernError("validation_error", details={"role": [f"Not a role: {role}"]})


def _forbid_above(acting: Membership, role: str, what: str) -> None:
    if ROLE_RANK[role] > ROLE_RANK[acting.role]:
        raise TernError(
            "forbidden",
            f"A member with the role {acting.role} may not {what} a member with the role {role}.",
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


def _is_current_member(workspace_id: str, email: str) -> bool:
    return (
        Membership.objects.current()
        .for_workspace(workspace_id)
        .filter(Q(user__email__iexact=email) | Q(user__username__iexact=email))
        .exists()
    )


def _send_invitation_mail(invitation: Invitation, workspace: Workspace, url: str) -> None:
    """The link goes to the invited address only: never into a log."""
    role = invitation.get_role_display()
    send_mail(
        subject=f"You are invited to {workspace.name} on Tern",
        message=(
            f"You are invited to join {workspace.name} on Tern as {role}.\n\n"
            f"Open this link to join (valid for {INVITATION_DAYS} days):\n{url}\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_create(
    *, acting: Membership, email: str, role: str, actor: Actor, ip: str | None = None
) -> tuple[Invitation, str]:
    """Invite an email with a role; returns the invitation and its accept URL (shown once)."""
    email = email.strip().lower()
    _check_role(role)
    _forbid_above(acting, role, "invite")
    workspace = Workspace.objects.select_for_update().get(pk=acting.workspace_id)
    if _is_current_member(workspace.pk, email):
        raise TernError("invalid_state", f"{email} is already a member.", details={"email": email})
    pending = Invitation.objects.for_workspace(workspace).filter(
        kind=Invitation.INVITE, email=email, status=Invitation.PENDING
    )
    for previous in pending.select_for_update():
        _revoke(previous, actor, ip, reason="replaced by a new invitation")
    key = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        key_hash=hash_secret(key),
        invited_by=acting,
        expires_at=clock.now() + timedelta(days=INVITATION_DAYS),
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="member.invited",
        target=invitation,
        ip=ip,
        after={"email": email, "role": role, "expires_at": invitation.expires_at},
    )
    url = join_url(key)
    _send_invitation_mail(invitation, workspace, url)
    return invitation, url


def _revoke(invitation: Invitation, actor: Actor, ip: str | None, reason: str = "") -> None:
    invitation.status, invitation.revoked_at = Invitation.REVOKED, clock.now()
    invitation.save(update_fields=["status", "revoked_at"])
    audit_record(
        workspace=invitation.workspace_id,
        actor=actor,
        action="invitation.revoked",
        target=invitation,
        ip=ip,
        reason=reason,
        before={"status": Invitation.PENDING},
        after={"status": Invitation.REVOKED, "email": invitation.email},
    )


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Actor, ip: str | None = None) -> Invitation:
    """Revoke a pending (or expired) invitation; a revoked one stays as it was; an accepted one
    cannot be revoked (409: remove the member instead)."""
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.status == Invitation.ACCEPTED:
        raise TernError(
            "invalid_state",
            "This invitation was accepted; remove the member instead.",
            details={"status": locked.status},
        )
    if locked.status == Invitation.PENDING:
        _revoke(locked, actor, ip)
    return locked


def invitation_for_key(key: str) -> Invitation | None:
    """The invitation (or owner set-up link) a secret key opens, whatever its status."""
    return Invitation.objects.select_related("workspace").filter(key_hash=hash_secret(key)).first()


def _new_person(email: str, name: str, password: str):
    User = get_user_model()
    user = User(username=email, email=email, first_name=name.strip()[:150])
    _set_password(user, password, name)
    return user


def _set_password(user, password: str, name: str) -> None:
    """Name required; the password judged by AUTH_PASSWORD_VALIDATORS; then saved."""
    errors = {}
    if not name.strip():
        errors["name"] = ["Enter your name."]
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise TernError("validation_error", details=errors)
    user.first_name = name.strip()[:150]
    user.set_password(password)
    user.save()


def _claim(key_invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update().get(pk=key_invitation.pk)
    status = locked.status_at(clock.now())
    if status != Invitation.PENDING:
        raise TernError("invalid_state", f"This link was {status}.", details={"status": status})
    return locked


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user=None, name: str = "", password: str = ""
) -> Membership:
    """Join with the invitation's role: as `user` (signed in as its email), or as a new person
    made from `name` and `password` when no account has that email."""
    locked = _claim(invitation)
    if locked.kind == Invitation.OWNER_SETUP:
        return _owner_setup(locked, name, password)
    existing = user_by_email(locked.email)
    if existing is not None and (user is None or user.pk != existing.pk):
        raise TernError(
            "forbidden",
            f"Sign in as {locked.email} to accept this invitation.",
            details={"reason": "sign_in_as_invitee"},
        )
    person = existing or _new_person(locked.email, name, password)
    if _is_current_member(locked.workspace_id, locked.email):
        raise TernError("invalid_state", "You are already a member of this workspace.")
    member = Membership.objects.create(
        workspace_id=locked.workspace_id, user=person, role=locked.role
    )
    locked.status, locked.accepted_at = Invitation.ACCEPTED, clock.now()
    locked.save(update_fields=["status", "accepted_at"])
    audit_record(
        workspace=locked.workspace_id,
        actor=Actor("user", str(person.pk), person.get_username()),
        action="member.joined",
        target=member,
        after={"email": locked.email, "role": locked.role, "invitation": locked.pk},
    )
    return member


def _owner_setup(link: Invitation, name: str, password: str) -> Membership:
    owner = (
        Membership.objects.current()
        .for_workspace(link.workspace_id)
        .filter(role=OWNER, user__in=[user_by_email(link.email)])
        .select_related("user")
        .first()
    )
    if owner is None:
        raise TernError("invalid_state", "This owner is no longer a member.")
    _set_password(owner.user, password, name)
    link.status, link.accepted_at = Invitation.ACCEPTED, clock.now()
    link.save(update_fields=["status", "accepted_at"])
    return owner


def owner_setup_link(*, workspace: Workspace, owner) -> str:
    """A one-time link (7 days) for a new workspace's owner to set a name and a password."""
    key = secrets.token_urlsafe(32)
    Invitation.objects.create(
        workspace=workspace,
        kind=Invitation.OWNER_SETUP,
        email=owner.email.lower(),
        role=OWNER,
        key_hash=hash_secret(key),
        expires_at=clock.now() + timedelta(days=INVITATION_DAYS),
    )
    return join_url(key)


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
    _check_role(role)
    locked = _lock(member)
    _forbid_above(acting, locked.role, "change")
    _forbid_above(acting, role, "grant the role")
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
    _forbid_above(acting, locked.role, "remove")
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
