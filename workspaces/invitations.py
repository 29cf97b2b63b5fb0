"""Invitations and owner set-up links (CONTRACT §11): create, revoke, accept; keys stored hashed.

The link (`PUBLIC_BASE_URL/join/<key>/`) is shown once and mailed; it never reaches a log.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction

from . import clock
from .audit import Actor, audit_record
from .errors import TernError
from .members import check_role, forbid_above, is_current_member, user_by_email
from .models import Invitation, Membership, Workspace
from .people import NAME_REQUIRED
from .scopes import OWNER
from .services import hash_secret

INVITATION_DAYS = 7


def join_url(key: str) -> str:
    """The public link an invitation's key opens."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/join/{key}/"


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


def _check_email(email: str) -> None:
    try:
        validate_email(email)
    except ValidationError as exc:
        raise TernError(
            "validation_error",
            f"Not a valid email address: {email or '(empty)'}.",
            details={"email": list(exc.messages)},
        ) from exc


@transaction.atomic
def invitation_create(
    *, acting: Membership, email: str, role: str, actor: Actor, ip: str | None = None
) -> tuple[Invitation, str]:
    """Invite an email with a role; returns the invitation and its accept URL (shown once)."""
    email = email.strip().lower()
    _check_email(email)
    check_role(role)
    forbid_above(acting, role, "invite someone as")
    workspace = Workspace.objects.select_for_update().get(pk=acting.workspace_id)
    if is_current_member(workspace.pk, email):
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
        errors["name"] = [NAME_REQUIRED]
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
    if is_current_member(locked.workspace_id, locked.email):
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
