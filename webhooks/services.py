"""Every write of the webhooks app: endpoints, secrets, attempts, retries, replays, disabling."""

import logging
import random
import time
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime

import requests
from django.db import transaction
from django.db.models import Q
from standardwebhooks.webhooks import Webhook

from workspaces import clock
from workspaces.audit import Actor, audit_record, canonical_json
from workspaces.errors import TernError
from workspaces.updates import model_update

from . import crypto, ssrf
from .events import (
    HANDOFF_LEASE,
    LEASE,
    deliveries_create,
    enqueue_many_on_commit,
    enqueue_on_commit,
)
from .hooks import DELIVERY_FINISHED
from .models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger("tern.webhooks")

# Gaps after each attempt: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (CONTRACT §8).
RETRY_GAPS = (5, 300, 1800, 7200, 18000, 36000, 36000)
COUNTDOWN_LIMIT = 60  # shorter waits ride on the task; longer ones are due times for the sweeper
TIMEOUT_SECONDS = 10
MAX_BODY_KEPT = 2048
ROTATION_GRACE = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=5)
EARLY_TOLERANCE = timedelta(seconds=1)  # a countdown task may arrive a touch early
# Deliveries handed out per sweep (every 15 s): a whole backlog at once, for the workers' pace.
SWEEP_LIMIT = 5000


# --- Endpoints ----------------------------------------------------------------------------------


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


# --- Delivery -----------------------------------------------------------------------------------


def event_body(event: Event) -> bytes:
    """The payload: the same bytes on every attempt and replay."""
    from workspaces.clock import isoformat

    return canonical_json(
        {
            "id": event.id,
            "type": event.type,
            "created_at": isoformat(event.created_at),
            "test": event.test,
            "data": event.data,
        }
    ).encode()


def signed_headers(event: Event, body: bytes, secrets: list[str], now) -> dict:
    """Standard Webhooks headers: a fresh timestamp on every attempt, one signature per secret."""
    signatures = " ".join(Webhook(s).sign(event.id, now, body.decode()) for s in secrets)
    return {
        "webhook-id": event.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "Tern-Webhooks/1.0",
    }


def _claim(delivery_id: str) -> WebhookDelivery | None:
    """Take a pending delivery for one attempt (a lease keeps the sweeper off it meanwhile)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint", "event")
            .filter(pk=delivery_id, status=WebhookDelivery.PENDING)
            .first()
        )
        if delivery is None:
            return None
        now = clock.now()
        if delivery.next_retry_at and delivery.next_retry_at > now + EARLY_TOLERANCE:
            return None  # not due (or another attempt holds it): a stray task does nothing
        delivery.attempt += 1
        delivery.step += 1
        delivery.next_retry_at = delivery.leased_until = now + LEASE
        delivery.save(
            update_fields=["attempt", "step", "next_retry_at", "leased_until", "updated_at"]
        )
        return delivery


def delivery_attempt(*, delivery_id: str) -> WebhookDelivery | None:
    """Make one attempt: sign, POST to the checked address, record it, decide what comes next."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        return _finish(delivery, succeeded=False, outcome=_Outcome(error="endpoint disabled"))
    outcome = _post(delivery, endpoint)
    _record_attempt(delivery, outcome)
    if outcome.ok:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            last_success_at=clock.now(), failing_since=None
        )
        return _finish(delivery, succeeded=True, outcome=outcome)
    if outcome.code == 410:
        endpoint_disable(
            endpoint=endpoint,
            reason="the endpoint answered 410 Gone",
            actor=Actor.system("webhook delivery"),
        )
        return _finish(delivery, succeeded=False, outcome=outcome)
    if _silent_too_long(endpoint):
        endpoint_disable(
            endpoint=endpoint,
            reason="no successful delivery for 5 days",
            actor=Actor.system("webhook delivery"),
        )
        return _finish(delivery, succeeded=False, outcome=outcome)
    return _schedule_retry(delivery, outcome)


class _Outcome:
    """What one attempt got back."""

    def __init__(self, code=None, latency_ms=None, body="", error="", retry_after=None):
        self.code, self.latency_ms, self.body = code, latency_ms, body
        self.error, self.retry_after = error, retry_after

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def _post(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> _Outcome:
    now = clock.now()
    body = event_body(delivery.event)
    headers = signed_headers(delivery.event, body, signing_secrets(endpoint, now), now)
    started = time.monotonic()
    try:
        target = ssrf.resolve(endpoint.url)
        response = ssrf.post(
            target, body=body, headers=headers, timeout=TIMEOUT_SECONDS, max_body=MAX_BODY_KEPT
        )
    except ssrf.UnsafeTarget as exc:
        return _Outcome(error=f"refused: {exc}")
    except requests.RequestException as exc:
        return _Outcome(latency_ms=_ms(started), error=f"{type(exc).__name__}: {exc}"[:500])
    return _Outcome(
        code=response.status_code,
        latency_ms=_ms(started),
        body=response.text,
        retry_after=_retry_after(response),
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _retry_after(response) -> float | None:
    """Retry-After on 429 and 503 answers, in seconds: delay-seconds or an HTTP date (RFC 9110)."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)  # "-0000": UTC all the same
    return max(0.0, (when - clock.now()).total_seconds())


def _record_attempt(delivery: WebhookDelivery, outcome: _Outcome) -> None:
    DeliveryAttempt.objects.create(
        workspace_id=delivery.workspace_id,
        delivery=delivery,
        number=delivery.attempt,
        at=clock.now(),
        response_code=outcome.code,
        latency_ms=outcome.latency_ms,
        response_body=outcome.body,
        error=outcome.error,
    )
    delivery.response_code, delivery.latency_ms = outcome.code, outcome.latency_ms
    delivery.response_body = outcome.body
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        response_code=outcome.code, latency_ms=outcome.latency_ms, response_body=outcome.body
    )


def _silent_too_long(endpoint: WebhookEndpoint) -> bool:
    """Note the first failure since the last success; True once failures have lasted 5 days
    (an endpoint that was merely idle is not failing)."""
    now = clock.now()
    rows = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    rows.filter(failing_since=None).update(failing_since=now)
    failing_since = rows.values_list("failing_since", flat=True)[0]
    return now - failing_since > DISABLE_AFTER


def _schedule_retry(delivery: WebhookDelivery, outcome: _Outcome) -> WebhookDelivery:
    """The next attempt after the schedule's gap (jittered), or `failed` after the last one."""
    if delivery.step > len(RETRY_GAPS):
        return _finish(delivery, succeeded=False, outcome=outcome)
    gap = RETRY_GAPS[delivery.step - 1] * random.uniform(0.9, 1.1)
    gap = max(gap, outcome.retry_after or 0)
    delivery.next_retry_at = clock.now() + timedelta(seconds=gap)
    # A short wait rides a countdown task, which holds the delivery; a long one is the sweeper's.
    countdown = gap < COUNTDOWN_LIMIT
    delivery.leased_until = delivery.next_retry_at + HANDOFF_LEASE if countdown else None
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_retry_at=delivery.next_retry_at, leased_until=delivery.leased_until
        )
        if countdown:
            enqueue_on_commit(delivery.id, countdown=gap)
    return delivery


def _finish(delivery: WebhookDelivery, *, succeeded: bool, outcome: _Outcome) -> WebhookDelivery:
    delivery.status = WebhookDelivery.SUCCEEDED if succeeded else WebhookDelivery.FAILED
    delivery.next_retry_at = delivery.leased_until = None
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=delivery.status, next_retry_at=None, leased_until=None
        )
        for hook in DELIVERY_FINISHED:  # e.g. messaging's timeline
            hook(delivery=delivery, succeeded=succeeded)
    return delivery


def delivery_replay(
    *, delivery: WebhookDelivery, actor: Actor, ip: str | None = None, reason: str = ""
) -> WebhookDelivery:
    """Deliver the same event (same webhook-id) again, on a fresh schedule; audited."""
    with transaction.atomic():
        now = clock.now()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.PENDING,
            step=0,
            next_retry_at=now,
            leased_until=now + HANDOFF_LEASE,
        )
        audit_record(
            workspace=delivery.workspace_id,
            actor=actor,
            ip=ip,
            target=delivery,
            action="webhook_delivery.replayed",
            reason=reason,
        )
        enqueue_on_commit(delivery.id)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def endpoint_replay_failed(
    *, endpoint: WebhookEndpoint, since, until, actor: Actor, ip: str | None = None
) -> int:
    """Replay the endpoint's failed deliveries created in [since, until); one audit event."""
    failed = WebhookDelivery.objects.filter(
        endpoint=endpoint,
        status=WebhookDelivery.FAILED,
        created_at__gte=since,
        created_at__lt=until,
    )
    ids, now = list(failed.values_list("id", flat=True)), clock.now()
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.PENDING,
        step=0,
        next_retry_at=now,
        leased_until=now + HANDOFF_LEASE,
    )
    enqueue_many_on_commit(ids)
    audit_record(
        workspace=endpoint.workspace_id,
        actor=actor,
        ip=ip,
        target=endpoint,
        action="webhook_endpoint.replayed",
        after={"since": since, "until": until, "replayed": len(ids)},
    )
    return len(ids)


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


def sweep_due_deliveries(*, limit: int = SWEEP_LIMIT) -> int:
    """Hand out pending deliveries that are due and held by no task: long waits, and tasks lost
    with a worker or the broker (their lease passed). Each gets a new lease in the same
    transaction, so a task still waiting in the broker is never enqueued a second time."""
    now = clock.now()
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now),
            status=WebhookDelivery.PENDING,
            next_retry_at__lte=now,
        )
        rows = list(
            due.order_by("next_retry_at")
            .select_for_update(skip_locked=True)
            .only("id", "next_retry_at")[:limit]
        )
        for row in rows:
            row.leased_until = now + handoff_lease(now - row.next_retry_at)
        WebhookDelivery.objects.bulk_update(rows, ["leased_until"], batch_size=500)
        enqueue_many_on_commit([row.id for row in rows])
    return len(rows)


def handoff_lease(waited: timedelta) -> timedelta:
    """How long a task handed to the broker is trusted to be still there: at least HANDOFF_LEASE,
    and as long as the delivery has already waited since it came due. Under a broker backlog
    longer than the lease, each re-handoff doubles the trust, so a delivery waiting an hour is
    enqueued about four times, not twelve (each duplicate is a no-op, but still a task)."""
    return max(HANDOFF_LEASE, waited)
