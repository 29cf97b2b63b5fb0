"""Delivery: claim a pending delivery, attempt it, record it, then finish or schedule a retry."""

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
from workspaces.audit import Actor, canonical_json

from .. import ssrf
from ..events import HANDOFF_LEASE, LEASE, enqueue_on_commit
from ..hooks import DELIVERY_FINISHED
from ..models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint
from .endpoints import endpoint_disable, signing_secrets

logger = logging.getLogger("tern.webhooks")

# Gaps after each attempt: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (CONTRACT §8).
RETRY_GAPS = (5, 300, 1800, 7200, 18000, 36000, 36000)
COUNTDOWN_LIMIT = 60  # shorter waits ride on the task; longer ones are due times for the sweeper
TIMEOUT_SECONDS = 10
MAX_BODY_KEPT = 2048
DISABLE_AFTER = timedelta(days=5)
EARLY_TOLERANCE = timedelta(seconds=1)  # a countdown task may arrive a touch early
SUCCESS_RESOLUTION = timedelta(seconds=60)


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
    """Make one attempt: sign, POST to the checked address, record it, decide what comes next.

    Two short write transactions per attempt, however it ends: the claim, and then the attempt's
    record together with its consequence (finished, or the next try booked). Under a webhook
    fan-out these writes are what a worker spends its time on, on SQLite most of all.
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        with transaction.atomic():
            return _finish(delivery, succeeded=False)
    outcome = _post(delivery, endpoint)
    with transaction.atomic():
        _record_attempt(delivery, outcome)
        return _conclude(delivery, endpoint, outcome)


def _conclude(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, outcome: "_Outcome"
) -> WebhookDelivery:
    """After an attempt: finished on success, 410 or 5 silent days; otherwise the next try."""
    if outcome.ok:
        _note_success(endpoint)
        return _finish(delivery, succeeded=True)
    if outcome.code == 410:
        endpoint_disable(
            endpoint=endpoint,
            reason="the endpoint answered 410 Gone",
            actor=Actor.system("webhook delivery"),
        )
        return _finish(delivery, succeeded=False)
    if _silent_too_long(endpoint):
        endpoint_disable(
            endpoint=endpoint,
            reason="no successful delivery for 5 days",
            actor=Actor.system("webhook delivery"),
        )
        return _finish(delivery, succeeded=False)
    return _schedule_retry(delivery, outcome)


def _note_success(endpoint: WebhookEndpoint) -> None:
    """Clear the failure clock; `last_success_at` is written at most once a minute, so
    concurrent deliveries to one endpoint do not queue on its row."""
    now = clock.now()
    stale = Q(last_success_at__lt=now - SUCCESS_RESOLUTION) | Q(failing_since__isnull=False)
    WebhookEndpoint.objects.filter(stale, pk=endpoint.pk).update(
        last_success_at=now, failing_since=None
    )


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
    """The attempt's row; the delivery keeps its latest answer (saved with its next state)."""
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


def _answer_fields(delivery: WebhookDelivery) -> dict:
    """The latest answer's columns, written with the delivery's next state."""
    return {
        "response_code": delivery.response_code,
        "latency_ms": delivery.latency_ms,
        "response_body": delivery.response_body,
    }


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
        return _finish(delivery, succeeded=False)
    gap = RETRY_GAPS[delivery.step - 1] * random.uniform(0.9, 1.1)
    gap = max(gap, outcome.retry_after or 0)
    delivery.next_retry_at = clock.now() + timedelta(seconds=gap)
    # A short wait rides a countdown task, which holds the delivery; a long one is the sweeper's.
    countdown = gap < COUNTDOWN_LIMIT
    delivery.leased_until = delivery.next_retry_at + HANDOFF_LEASE if countdown else None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_retry_at=delivery.next_retry_at,
        leased_until=delivery.leased_until,
        **_answer_fields(delivery),
    )
    if countdown:
        enqueue_on_commit(delivery.id, countdown=gap)
    return delivery


def _finish(delivery: WebhookDelivery, *, succeeded: bool) -> WebhookDelivery:
    """The delivery's final state, and the hooks that hear of it, in the caller's transaction."""
    delivery.status = WebhookDelivery.SUCCEEDED if succeeded else WebhookDelivery.FAILED
    delivery.next_retry_at = delivery.leased_until = None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=delivery.status, next_retry_at=None, leased_until=None, **_answer_fields(delivery)
    )
    for hook in DELIVERY_FINISHED:  # e.g. messaging's timeline
        hook(delivery=delivery, succeeded=succeeded)
    return delivery
