"""Endpoint writes: create, update, rotate the secret, disable, ping, delete."""

from datetime import timedelta

from django.db import transaction

from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.errors import TernError
from workspaces.updates import model_update

from .. import crypto, ssrf
from ..events import deliveries_create
from ..models import Event, WebhookDelivery, WebhookEndpoint

ROTATION_GRACE = timedelta(hours=24)


@transaction.atomic
def endpoint_create(
    *,
    workspace_id: str,
    test: bool,
    url: str,
    events: list[str],
    description: str = "",
    enabled: bool = True,
    actor: Actor,
    ip: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once; stored encrypted)."""
    _check_target(url)
    secret, now = crypto.new_signing_secret(), clock.now()
    endpoint = WebhookEndpoint.objects.create(
        workspace_id=workspace_id,
        test=test,
        url=url,
        events=sorted(set(events)),
        description=description,
        enabled=enabled,
        secret_encrypted=crypto.encrypt(secret),
        last_success_at=now,
        created_at=now,
    )
    audit_record(
        workspace=workspace_id,
        actor=actor,
        action="webhook_endpoint.created",
        target=endpoint,
        ip=ip,
        after={"url": url, "events": endpoint.events, "mode": "test" if test else "live"},
    )
    return endpoint, secret


def _check_target(url: str) -> None:
    try:
        ssrf.resolve(url)
    except ssrf.UnsafeTarget as exc:
        raise TernError("validation_error", details={"url": [str(exc)]}) from exc


def endpoint_update(
    *, endpoint: WebhookEndpoint, changes: dict, actor: Actor, ip: str | None = None
) -> WebhookEndpoint:
    """Change url, events, description or enabled; re-enabling clears the disabled state."""
    if "url" in changes:
        _check_target(changes["url"])
    data = {**changes, **_enabled_state(endpoint, changes)}
    if "events" in changes:
        data["events"] = sorted(set(changes["events"]))
    with transaction.atomic():
        update = model_update(instance=endpoint, data=data)
        audit_record(
            workspace=endpoint.workspace_id,
            actor=actor,
            ip=ip,
            target=endpoint,
            action="webhook_endpoint.updated",
            **update.audit(changes, changed_only=False),
        )
    return endpoint


def _enabled_state(endpoint: WebhookEndpoint, changes: dict) -> dict:
    """The disabled state that goes with a change of `enabled`: re-enabling clears it."""
    if changes.get("enabled") is False and endpoint.disabled_at is None:
        return {"disabled_at": clock.now(), "disabled_reason": "disabled by a user"}
    if changes.get("enabled") is True:  # a fresh start
        return {
            "disabled_at": None,
            "disabled_reason": "",
            "last_success_at": clock.now(),
            "failing_since": None,
        }
    return {}


def endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, actor: Actor, ip: str | None = None
) -> str:
    """A new secret; the old one keeps signing (both signatures sent) for 24 hours."""
    secret = crypto.new_signing_secret()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret_encrypted = locked.secret_encrypted
        locked.previous_secret_expires_at = clock.now() + ROTATION_GRACE
        locked.secret_encrypted = crypto.encrypt(secret)
        locked.save(
            update_fields=[
                "previous_secret_encrypted",
                "previous_secret_expires_at",
                "secret_encrypted",
            ]
        )
        audit_record(
            workspace=locked.workspace_id,
            actor=actor,
            ip=ip,
            target=locked,
            action="webhook_endpoint.secret_rotated",
        )
    return secret


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, actor: Actor) -> None:
    """Stop delivering to an endpoint (410 Gone, or 5 days without success); audited."""
    with transaction.atomic():
        updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, disabled_at=clock.now(), disabled_reason=reason
        )
        if updated:
            audit_record(
                workspace=endpoint.workspace_id,
                actor=actor,
                target=endpoint,
                action="webhook_endpoint.disabled",
                reason=reason,
            )


def endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a `ping` event to this endpoint alone."""
    with transaction.atomic():
        now = clock.now()
        event = Event.objects.create(
            workspace_id=endpoint.workspace_id,
            test=endpoint.test,
            type="ping",
            data={"endpoint": endpoint.id},
            created_at=now,
        )
        return deliveries_create(event, [endpoint], now)[0]


def signing_secrets(endpoint: WebhookEndpoint, now) -> list[str]:
    """The current secret, and the previous one while its 24 hours last."""
    secrets = [crypto.decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and expires > now:
        secrets.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return secrets


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor, ip: str | None = None) -> None:
    """Remove the endpoint and its deliveries (the events stay); audited."""
    audit_record(
        workspace=endpoint.workspace_id,
        actor=actor,
        ip=ip,
        target=endpoint,
        action="webhook_endpoint.deleted",
        before={"url": endpoint.url, "events": endpoint.events},
    )
    endpoint.delete()
