"""Every write to workspaces, members, tokens and senders; each audited in its own transaction."""

import hashlib
import secrets
import string
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from . import clock
from .audit import Actor, audit_record
from .errors import TernError
from .models import (
    WORKSPACE_SETTINGS,
    ApiToken,
    AuditChainHead,
    Heartbeat,
    Membership,
    Sender,
    Workspace,
)
from .permissions import require_live_token
from .scopes import ALL_SCOPES, OWNER, scopes_for_role
from .updates import model_update

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_PREFIXES = {ApiToken.LIVE: "tern_live_", ApiToken.TEST: "tern_test_"}
AUDITED_WORKSPACE_FIELDS = (
    "name",
    "slug",
    "test_mode",
    "spend_limit",
    *WORKSPACE_SETTINGS,
    "price_overrides",
)


def hash_secret(secret: str) -> str:
    """The stored form of a token secret: its SHA-256 (tokens carry 238 bits of randomness)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner, test_mode: bool = True, slug: str = "") -> Workspace:
    """A new workspace with its owner's membership and an empty audit chain."""
    workspace = Workspace.objects.create(
        name=name, slug=slug or _unique_slug(name), test_mode=test_mode
    )
    Membership.objects.create(workspace=workspace, user=owner, role=OWNER)
    AuditChainHead.objects.create(workspace=workspace)
    audit_record(
        workspace=workspace,
        actor=Actor("user", str(owner.pk), owner.get_username()),
        action="workspace.created",
        target=workspace,
        after=workspace_snapshot(workspace),
    )
    return workspace


def workspace_snapshot(workspace: Workspace) -> dict:
    """The audited settings of a workspace, as plain JSON values."""
    return {f: getattr(workspace, f) for f in AUDITED_WORKSPACE_FIELDS}


@transaction.atomic
def workspace_update(
    *, workspace: Workspace, actor: Actor, changes: dict, ip: str | None = None, reason: str = ""
) -> Workspace:
    """Apply settings changes under a row lock, audited with before and after."""
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    update = model_update(instance=locked, data=changes)
    audited = update.audit(AUDITED_WORKSPACE_FIELDS)
    if audited["after"]:
        audit_record(
            workspace=locked,
            actor=actor,
            action="workspace.updated",
            target=locked,
            ip=ip,
            reason=reason,
            **audited,
        )
    return locked


def member_add(*, workspace: Workspace, user, role: str) -> Membership:
    """Give a user a role in a workspace."""
    return Membership.objects.create(workspace=workspace, user=user, role=role)


def _check_grantable(creator: Membership, scopes: list[str], within: frozenset | None) -> None:
    unknown = sorted(set(scopes) - ALL_SCOPES)
    if unknown:
        raise TernError(
            "validation_error", details={"scopes": [f"Unknown scope: {s}" for s in unknown]}
        )
    allowed = scopes_for_role(creator.role) & (within if within is not None else ALL_SCOPES)
    beyond = sorted(set(scopes) - allowed)
    if beyond:
        raise TernError(
            "forbidden",
            f"This token cannot grant {', '.join(beyond)} (creator's role: {creator.role}).",
            details={"required_scope": beyond[0], "role": creator.role},
        )


@transaction.atomic
def token_create(
    *,
    creator: Membership,
    name: str,
    scopes: list[str],
    mode: str = ApiToken.LIVE,
    expires_at: datetime | None = None,
    actor: Actor | None = None,
    ip: str | None = None,
    within: frozenset | None = None,
    caller: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """Mint a token; returns it with its secret, which is never stored or shown again.

    Its scopes are capped by the creator's role and, when a token (`caller`) mints it, by that
    token's own; a test token mints test tokens only.
    """
    if mode == ApiToken.LIVE:
        require_live_token(caller, "create a live token")
    _check_grantable(creator, scopes, within)
    secret = TOKEN_PREFIXES[mode] + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(40))
    token = ApiToken.objects.create(
        workspace_id=creator.workspace_id,
        name=name,
        mode=mode,
        prefix=secret[:14],
        secret_hash=hash_secret(secret),
        scopes=sorted(set(scopes)),
        created_by=creator,
        expires_at=expires_at,
    )
    audit_record(
        workspace=creator.workspace_id,
        actor=actor or member_actor(creator),
        action="token.created",
        target=token,
        ip=ip,
        after={
            "name": name,
            "mode": mode,
            "scopes": token.scopes,
            "prefix": token.prefix,
            "expires_at": expires_at,
        },
    )
    return token, secret


@transaction.atomic
def token_revoke(
    *, token: ApiToken, actor: Actor, ip: str | None = None, caller: ApiToken | None = None
) -> ApiToken:
    """Revoke a token (idempotent: a revoked token stays as it was); a test token may revoke
    test tokens only."""
    if token.mode == ApiToken.LIVE:
        require_live_token(caller, "revoke a live token")
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = clock.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            workspace=locked.workspace_id,
            actor=actor,
            action="token.revoked",
            target=locked,
            ip=ip,
            before={"revoked_at": None},
            after={"revoked_at": locked.revoked_at},
        )
    return locked


def token_touch(*, token: ApiToken) -> None:
    """Record use at most once a minute, so a busy token's row does not become a hot spot."""
    now = clock.now()
    resolution = timedelta(seconds=settings.TOKEN_LAST_USED_RESOLUTION_SECONDS)
    if token.last_used_at and now - token.last_used_at < resolution:
        return
    stale = ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=now - resolution)
    stale.update(last_used_at=now)
    token.last_used_at = now


def member_actor(member: Membership) -> Actor:
    """The audit actor for a member acting as themselves."""
    return Actor("user", str(member.user_id), member.user.get_username())


def token_actor(token: ApiToken) -> Actor:
    """The audit actor for a request made with a token."""
    return Actor("token", token.id, f"{token.name} ({token.created_by.user.get_username()})")


@transaction.atomic
def sender_create(
    *,
    workspace: Workspace,
    actor: Actor,
    number: str,
    country: str,
    kind: str = Sender.LONG_CODE,
    sms_capable: bool = True,
    toll_free_verified: bool = False,
    mps: int | None = None,
    ip: str | None = None,
) -> Sender:
    """Register a number for a workspace; a number belongs to one workspace platform-wide."""
    kind_mps = Sender.KIND_MPS[kind]
    if mps is not None and mps > kind_mps:
        raise TernError(
            "validation_error", details={"mps": [f"A {kind} sends at most {kind_mps} per second."]}
        )
    if Sender.objects.filter(number=number, removed_at=None).exists():
        raise TernError("sender_in_use", details={"number": number})
    try:
        with transaction.atomic():
            sender = Sender.objects.create(
                workspace=workspace,
                number=number,
                kind=kind,
                country=country,
                sms_capable=sms_capable,
                toll_free_verified=toll_free_verified,
                mps=mps or kind_mps,
            )
    except IntegrityError as exc:  # lost a race for the same number
        raise TernError("sender_in_use", details={"number": number}) from exc
    audit_record(
        workspace=workspace,
        actor=actor,
        action="sender.added",
        target=sender,
        ip=ip,
        after={"number": number, "kind": kind, "country": country, "mps": sender.mps},
    )
    return sender


@transaction.atomic
def sender_remove(*, sender: Sender, actor: Actor, ip: str | None = None) -> Sender:
    """Retire a sender: its number becomes free, and stops being the default sender."""
    locked = Sender.objects.select_for_update().get(pk=sender.pk)
    if locked.removed_at is None:
        locked.removed_at = clock.now()
        locked.save(update_fields=["removed_at"])
        audit_record(
            workspace=locked.workspace_id,
            actor=actor,
            action="sender.removed",
            target=locked,
            ip=ip,
            before={"number": locked.number},
        )
        workspace = Workspace.objects.get(pk=locked.workspace_id)
        if workspace.default_sender == locked.number:
            workspace_update(
                workspace=workspace,
                actor=actor,
                changes={"default_sender": ""},
                ip=ip,
                reason="default sender removed",
            )
    return locked


def user_get_or_create(*, email: str):
    """The user with this email, created without a usable password if new."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=email, defaults={"email": email})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def workspace_bootstrap(
    *, name: str, owner_email: str, sender_number: str, test_mode: bool = False
) -> dict:
    """A ready workspace: owner, live and test tokens with every scope, a default sender."""
    owner = user_get_or_create(email=owner_email)
    workspace = workspace_create(name=name, owner=owner, test_mode=test_mode)
    member = Membership.objects.get(workspace=workspace, user=owner)
    actor = member_actor(member)
    tokens = {
        mode: token_create(
            creator=member, name=f"{mode} token", scopes=sorted(ALL_SCOPES), mode=mode, actor=actor
        )[1]
        for mode in (ApiToken.LIVE, ApiToken.TEST)
    }
    sender = sender_create(
        workspace=workspace, actor=actor, number=sender_number, kind=Sender.LONG_CODE, country="US"
    )
    workspace = workspace_update(
        workspace=workspace, actor=actor, changes={"default_sender": sender.number}
    )
    return {"workspace": workspace, "tokens": tokens, "sender": sender, "owner": owner}


def heartbeat_record(*, name: str, throttle_seconds: int = 0) -> None:
    """Note that the worker or scheduler is alive (skipped if noted within the throttle)."""
    now = clock.now()
    if throttle_seconds and _recent_beat(name, now, throttle_seconds):
        return
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": now})


_last_beats: dict[str, datetime] = {}


def _recent_beat(name: str, now: datetime, seconds: int) -> bool:
    last = _last_beats.get(name)
    if last and (now - last).total_seconds() < seconds:
        return True
    _last_beats[name] = now
    return False
