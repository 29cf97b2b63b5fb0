"""Webhook delivery, attempt by attempt, in process against a real local receiver (CONTRACT §8):
signatures and rotation, the retry schedule, failure and replay, 410 / Retry-After / redirects /
timeouts / the 5-day rule, the SSRF guard, test/live and tenant separation, the outbox."""

import json
import socket
import threading
from contextlib import ExitStack
from datetime import timedelta
from email.utils import format_datetime

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks import crypto, ssrf
from webhooks.events import emit
from webhooks.models import DeliveryAttempt, Event, WebhookDelivery
from webhooks.services.delivery import RETRY_GAPS, delivery_attempt
from webhooks.services.endpoints import endpoint_create, endpoint_rotate_secret
from webhooks.services.sweeps import delivery_replay, sweep_due_deliveries
from workspaces.audit import Actor
from workspaces.errors import TernError
from workspaces.models import AuditEvent

from ..support.factories import message_for
from ..support.receiver import Answer, Receiver, verify
from ..support.workers import wait_for

ACTOR = Actor.system("webhook tests")
SCHEDULE = RETRY_GAPS  # 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h


@pytest.fixture
def make_receiver():
    """Start receivers on demand; every one is stopped at the end of the test."""
    with ExitStack() as stack:
        yield lambda *script, **kw: stack.enter_context(Receiver(script, **kw))


@pytest.fixture
def receiver(make_receiver):
    """One receiver answering 200 unless a test scripts otherwise (`receiver.then(...)`)."""
    return make_receiver()


@pytest.fixture
def t0():
    """A whole second a little ahead of now, where each test's story starts."""
    return timezone.now().replace(microsecond=0) + timedelta(minutes=1)


def _at(moment):
    return time_machine.travel(moment, tick=False)


def _endpoint(tenant, url: str, *, test: bool = False, events=("*",)):
    return endpoint_create(
        workspace_id=tenant.workspace.id, test=test, url=url, events=list(events), actor=ACTOR
    )


def _emit(tenant, *, test: bool = False, type: str = "suppression.created") -> Event:
    data = {"id": "sup_test", "phone": "+14155550100", "note": "héllo 👋 — ünïcode"}
    return emit(workspace_id=tenant.workspace.id, test=test, type=type, data=data)


def _delivery(event: Event, endpoint=None) -> WebhookDelivery:
    deliveries = WebhookDelivery.objects.filter(event=event)
    return deliveries.get(endpoint=endpoint) if endpoint else deliveries.get()


def _attempt(delivery: WebhookDelivery) -> WebhookDelivery:
    delivery_attempt(delivery_id=delivery.id)
    delivery.refresh_from_db()
    return delivery


def _attempt_now(delivery: WebhookDelivery, moment) -> WebhookDelivery:
    with _at(moment):
        return _attempt(delivery)


def _retry(delivery: WebhookDelivery):
    """Move just past the next attempt's due time and attempt it: a task already holding the
    delivery (a short wait's countdown, a replay's) leaves the sweeper nothing; else it sweeps."""
    moment = delivery.next_retry_at + timedelta(milliseconds=10)
    held = delivery.leased_until is not None and delivery.leased_until > moment
    with _at(moment):
        assert sweep_due_deliveries() == (0 if held else 1)
        _attempt(delivery)
    return moment


def _assert_not_due_yet(delivery: WebhookDelivery, receiver) -> None:
    """Two seconds early, the sweeper skips it and a stray task does nothing."""
    seen = len(receiver.requests)
    with _at(delivery.next_retry_at - timedelta(seconds=2)):
        assert sweep_due_deliveries() == 0
        assert delivery_attempt(delivery_id=delivery.id) is None
    assert len(receiver.requests) == seen


def _verify(recorded, secret: str) -> dict:
    """Verify as the receiver would have on arrival (its clock at the request's timestamp)."""
    with _at(recorded.timestamp):
        return verify(recorded, secret)


def _queued_event(message) -> Event:
    return Event.objects.get(type="message.queued", data__id=message.id)


def _timeline(message) -> list[str]:
    return list(message.events.order_by("at", "id").values_list("event", flat=True))


# --- Signatures ---------------------------------------------------------------------------------


def test_every_delivery_verifies_with_the_endpoint_secret(tenant, receiver, t0):
    """standardwebhooks accepts the request with the secret from creation, not with another."""
    _, secret = _endpoint(tenant, receiver.url)
    assert secret.startswith("whsec_")
    with _at(t0):
        event = _emit(tenant)
    _attempt_now(_delivery(event), t0)
    [request] = receiver.requests
    payload = _verify(request, secret)
    assert payload == {
        "id": event.id,
        "type": "suppression.created",
        "test": False,
        "created_at": payload["created_at"],
        "data": event.data,
    }
    assert request.webhook_id == event.id and len(request.signatures) == 1
    with pytest.raises(WebhookVerificationError):
        _verify(request, crypto.new_signing_secret())


def test_rotation_signs_with_both_secrets_for_24_hours(tenant, receiver, t0):
    """After rotation both secrets verify; 24 h later only the new one is sent."""
    endpoint, old = _endpoint(tenant, receiver.url)
    with _at(t0):
        new = endpoint_rotate_secret(endpoint=endpoint, actor=ACTOR)
        event = _emit(tenant)
    _attempt_now(_delivery(event), t0 + timedelta(hours=23, minutes=59))
    during = receiver.requests[-1]
    assert len(during.signatures) == 2
    assert _verify(during, old)["id"] == _verify(during, new)["id"] == event.id
    with _at(t0 + timedelta(hours=24, seconds=1)):
        later = _emit(tenant)
        _attempt(_delivery(later))
    after = receiver.requests[-1]
    assert len(after.signatures) == 1 and _verify(after, new)["id"] == later.id
    with pytest.raises(WebhookVerificationError):
        _verify(after, old)


# --- The schedule -------------------------------------------------------------------------------


def test_retries_follow_the_schedule_until_a_2xx(tenant, receiver, t0):
    """500 ×3 then 200: attempts at once, ~5 s, ~5 min, ~30 min later; the 4th succeeds."""
    receiver.then(500, 500, 500, 200)
    endpoint, secret = _endpoint(tenant, receiver.url)
    with _at(t0):
        message = message_for(tenant.workspace, tenant.sender)
    event = _queued_event(message)
    delivery = _attempt_now(_delivery(event, endpoint), t0)
    moments = [t0]
    for gap in SCHEDULE[:3]:
        waited = (delivery.next_retry_at - moments[-1]).total_seconds()
        assert gap * 0.9 <= waited <= gap * 1.1
        _assert_not_due_yet(delivery, receiver)
        moments.append(_retry(delivery))
    assert delivery.status == "succeeded" and delivery.next_retry_at is None
    attempts = list(delivery.attempts.values_list("number", "response_code", "at"))
    assert attempts == [
        (n + 1, code, at)
        for n, (code, at) in enumerate(zip([500, 500, 500, 200], moments, strict=True))
    ]
    stamps = [r.timestamp for r in receiver.requests]
    assert stamps == [int(m.timestamp()) for m in moments] and stamps == sorted(set(stamps))
    assert {r.webhook_id for r in receiver.requests} == {event.id}
    assert len({r.body for r in receiver.requests}) == 1
    assert all(_verify(r, secret)["id"] == event.id for r in receiver.requests)
    outcome = message.events.get(event="webhook_delivered")
    assert outcome.detail["event_id"] == event.id and outcome.detail["attempts"] == 4
    assert "webhook_failed" not in _timeline(message)


def test_a_receiver_down_all_schedule_fails_then_replays(tenant, receiver, t0):
    """8 refused attempts → failed + webhook_failed; back up, a replay succeeds, same event id."""
    receiver.down()
    endpoint, secret = _endpoint(tenant, receiver.url)
    with _at(t0):
        message = message_for(tenant.workspace, tenant.sender)
    event = _queued_event(message)
    delivery = _attempt_now(_delivery(event, endpoint), t0)
    last = t0
    for gap in SCHEDULE:
        assert gap * 0.9 <= (delivery.next_retry_at - last).total_seconds() <= gap * 1.1
        last = _retry(delivery)
    assert delivery.status == "failed" and delivery.attempt == 8 and not receiver.requests
    errors = list(delivery.attempts.values_list("response_code", "error"))
    assert len(errors) == 8 and all(c is None and "ConnectionError" in e for c, e in errors)
    assert _timeline(message).count("webhook_failed") == 1
    with _at(last + timedelta(days=2)):
        assert sweep_due_deliveries() == 0  # a failed delivery is not retried alone
    receiver.up()
    with _at(last + timedelta(days=2)):
        assert delivery_replay(delivery=delivery, actor=Actor.system()).status == "pending"
    _retry(delivery)
    assert delivery.status == "succeeded" and delivery.attempts.last().number == 9
    [request] = receiver.requests
    assert request.webhook_id == event.id and _verify(request, secret)["id"] == event.id
    assert _timeline(message)[-2:] == ["webhook_failed", "webhook_delivered"]


def test_short_waits_ride_a_countdown_long_ones_the_sweeper(
    tenant, receiver, t0, monkeypatch, django_capture_on_commit_callbacks
):
    """A 5-second retry is a countdown task after commit; a 5-minute one waits for the sweeper."""
    published = []
    monkeypatch.setattr(
        "webhooks.tasks.deliver_webhook.apply_async",
        lambda args, **kw: published.append((args, kw)),
    )
    receiver.then(500, 500)
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _delivery(_emit(tenant))
    with django_capture_on_commit_callbacks(execute=True):
        _attempt_now(delivery, t0)
    [(args, options)] = published
    assert args == (delivery.id,) and 4.5 <= options["countdown"] <= 5.5
    with _at(delivery.next_retry_at), django_capture_on_commit_callbacks(execute=True):
        _attempt(delivery)
    assert delivery.attempt == 2 and delivery.next_retry_at > t0 + timedelta(minutes=4)
    assert len(published) == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_task_during_an_attempt_does_nothing(tenant, make_receiver):
    """Safe to run twice: while one attempt holds the lease, another claims nothing."""
    held = make_receiver(Answer(200, hold=True))
    _endpoint(tenant, held.url)
    delivery = _delivery(_emit(tenant))
    first = threading.Thread(target=_attempt_in_thread, args=(delivery.id,))
    first.start()
    wait_for(lambda: held.requests, timeout=10, interval=0.02)
    assert delivery_attempt(delivery_id=delivery.id) is None
    held.release()
    first.join(10)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempt == 1 and len(held.requests) == 1
    assert delivery_attempt(delivery_id=delivery.id) is None  # finished: nothing to do
    assert len(held.requests) == 1


def _attempt_in_thread(delivery_id: str) -> None:
    try:
        delivery_attempt(delivery_id=delivery_id)
    finally:
        connection.close()


# --- What the receiver answers ------------------------------------------------------------------


def test_410_disables_the_endpoint_with_an_audit_event(tenant, receiver, t0):
    """410 Gone: the delivery fails, the endpoint is disabled and audited, no more deliveries."""
    receiver.then(410)
    endpoint, _ = _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    endpoint.refresh_from_db()
    assert delivery.status == "failed" and delivery.response_code == 410
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    audit = AuditEvent.objects.get(action="webhook_endpoint.disabled", target_id=endpoint.id)
    assert audit.workspace_id == tenant.workspace.id and "410" in audit.reason
    assert not WebhookDelivery.objects.filter(event=_emit(tenant)).exists()


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(tenant, receiver, t0, status):
    """429/503 with Retry-After: 3600 → no attempt for at least an hour."""
    receiver.then(Answer(status, {"Retry-After": "3600"}))
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    assert delivery.status == "pending" and delivery.response_code == status
    assert (delivery.next_retry_at - t0).total_seconds() >= 3600
    _assert_not_due_yet(delivery, receiver)
    _retry(delivery)
    assert delivery.status == "succeeded" and len(receiver.requests) == 2


def test_retry_after_as_an_http_date_is_honoured(tenant, receiver, t0):
    """Retry-After may be an HTTP date (RFC 9110): wait until then, not 5 seconds."""
    when = t0 + timedelta(hours=2)
    receiver.then(Answer(503, {"Retry-After": format_datetime(when, usegmt=True)}))
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    assert delivery.next_retry_at >= when


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed_and_count_as_failure(tenant, make_receiver, t0, status):
    """A 3xx is an answer, not a route: its target hears nothing, the delivery retries."""
    target = make_receiver()
    source = make_receiver(Answer(status, {"Location": target.url}))
    _endpoint(tenant, source.url)
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    assert len(source.requests) == 1 and target.requests == []
    assert delivery.status == "pending" and delivery.response_code == status
    assert delivery.attempts.get().response_code == status


def test_a_slow_receiver_times_out_as_an_error_attempt(tenant, make_receiver, t0, monkeypatch):
    """Past the timeout the attempt is an error (no code) and the delivery retries."""
    monkeypatch.setattr("webhooks.services.delivery.TIMEOUT_SECONDS", 0.5)
    slow = make_receiver(Answer(200, hold=True))
    _endpoint(tenant, slow.url)
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    attempt = delivery.attempts.get()
    assert len(slow.requests) == 1 and attempt.response_code is None
    assert "Timeout" in attempt.error and 500 <= attempt.latency_ms < 5000
    assert delivery.status == "pending" and delivery.next_retry_at is not None


def test_a_receiver_dripping_its_answer_is_cut_at_the_timeout(
    tenant, make_receiver, t0, monkeypatch
):
    """The timeout bounds the whole answer: a body sent a byte at a time cannot hold a worker."""
    monkeypatch.setattr("webhooks.services.delivery.TIMEOUT_SECONDS", 0.5)
    dripping = make_receiver(Answer(200, drip=0.05))
    _endpoint(tenant, dripping.url)
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    attempt = delivery.attempts.get()
    assert attempt.latency_ms < 3000, "the drip held the attempt past its timeout"
    assert "Timeout" in attempt.error and delivery.status == "pending"


def test_only_the_first_2_kb_of_an_answer_are_kept(tenant, make_receiver, t0):
    """A 5 MB answer is cut to 2 KB on the delivery and on its attempt."""
    big = make_receiver(Answer(200, body="é".encode() * 2_500_000))
    _endpoint(tenant, big.url)
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    assert delivery.status == "succeeded"
    assert len(delivery.response_body.encode()) <= 2048 + 3  # a cut character is replaced
    assert delivery.response_body.startswith("é" * 1000)
    assert delivery.attempts.get().response_body == delivery.response_body


def test_five_days_of_failing_disables_and_audits(tenant, make_receiver, t0):
    """Idle days do not count; failing for more than 5 days since the last success disables the
    endpoint, once, audited."""
    failing = make_receiver(default=500)
    with _at(t0):
        endpoint, _ = _endpoint(tenant, failing.url)
    first_failure = t0 + timedelta(days=4)
    with _at(first_failure):
        delivery = _attempt(_delivery(_emit(tenant)))
    while delivery.status == "pending":
        _retry(delivery)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since == first_failure
    with _at(first_failure + timedelta(days=5, hours=1)):
        late = _attempt(_delivery(_emit(tenant)))
    endpoint.refresh_from_db()
    assert not endpoint.enabled and late.status == "failed"
    assert endpoint.disabled_reason.startswith("no successful")
    audits = AuditEvent.objects.filter(action="webhook_endpoint.disabled", target_id=endpoint.id)
    assert audits.count() == 1 and "5 days" in audits.get().reason


def test_a_success_restarts_the_five_days(tenant, make_receiver, t0):
    """A 2xx three days in means a failure on day six does not disable the endpoint."""
    receiver = make_receiver(200, default=500)
    with _at(t0):
        endpoint, _ = _endpoint(tenant, receiver.url)
    with _at(t0 + timedelta(days=3)):
        assert _attempt(_delivery(_emit(tenant))).status == "succeeded"
    with _at(t0 + timedelta(days=6)):
        assert _attempt(_delivery(_emit(tenant))).status == "pending"
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.last_success_at == t0 + timedelta(days=3)


# --- The SSRF guard -----------------------------------------------------------------------------


def test_a_private_target_is_refused_at_attempt_time(tenant, receiver, t0, settings):
    """Allowed when created, private when attempted: no request is made, the attempt says why."""
    _endpoint(tenant, receiver.url)
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    attempt = delivery.attempts.get()
    assert receiver.requests == [] and attempt.response_code is None
    assert attempt.error.startswith("refused") and "127.0.0.1" in attempt.error


def test_a_private_target_is_refused_at_creation(tenant, settings):
    """Creating an endpoint on a loopback URL is a validation error while private is off."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(TernError) as raised:
        _endpoint(tenant, "http://127.0.0.1:9/hook")
    assert raised.value.code == "validation_error" and "url" in raised.value.details


PRIVATE_URLS = [
    "http://127.0.0.1/hook",
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://localhost:8000/hook",
    "http://224.0.0.1/hook",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_resolve_refuses_private_loopback_and_link_local(url):
    """Private, loopback, link-local, mapped and multicast addresses are all refused."""
    with pytest.raises(ssrf.UnsafeTarget):
        ssrf.resolve(url, allow_private=False)


def test_resolve_follows_the_setting(settings):
    """Without an explicit choice the setting decides."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ssrf.UnsafeTarget):
        ssrf.resolve("http://127.0.0.1:8000/hook")
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    assert ssrf.resolve("http://127.0.0.1:8000/hook").address == "127.0.0.1"


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/hook", "http:///hook", "file:///etc/passwd"])
def test_resolve_refuses_other_schemes_and_no_host(url):
    """Only http and https with a host."""
    with pytest.raises(ssrf.UnsafeTarget):
        ssrf.resolve(url, allow_private=True)


def test_resolve_allows_a_public_literal_and_pins_it():
    """A public address passes, and the URL to connect to names that address."""
    target = ssrf.resolve("https://93.184.216.34:8443/hooks/in?x=1", allow_private=False)
    assert target.address == "93.184.216.34" and target.host == "93.184.216.34"
    assert target.pinned_url == "https://93.184.216.34:8443/hooks/in?x=1"


def test_post_connects_to_the_checked_address_with_the_original_host(
    tenant, receiver, t0, monkeypatch
):
    """The name is resolved once per attempt; the request goes there and keeps its Host."""
    lookups = _fake_dns(monkeypatch, "hooks.example.test", "127.0.0.1")
    url = f"http://hooks.example.test:{receiver.port}/hook"
    _, secret = _endpoint(tenant, url)
    lookups.clear()
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    [request] = receiver.requests
    assert delivery.status == "succeeded" and lookups == ["hooks.example.test"]
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert _verify(request, secret)["id"] == delivery.event_id


def _fake_dns(monkeypatch, name: str, address: str) -> list[str]:
    """Resolve `name` to `address` (recording each lookup); anything else as usual."""
    real, lookups = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host == name:
            lookups.append(host)
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


# --- Who receives what --------------------------------------------------------------------------


def test_test_and_live_events_reach_only_their_mode(tenant, other_tenant, make_receiver, t0):
    """A test endpoint never gets live events, nor the reverse, nor another workspace's."""
    live_rx, test_rx, other_rx = make_receiver(), make_receiver(), make_receiver()
    live, _ = _endpoint(tenant, live_rx.url, test=False)
    test, _ = _endpoint(tenant, test_rx.url, test=True)
    _endpoint(other_tenant, other_rx.url, test=False)
    _endpoint(other_tenant, other_rx.url, test=True)
    with _at(t0):
        live_event, test_event = _emit(tenant, test=False), _emit(tenant, test=True)
        for delivery in WebhookDelivery.objects.all():
            _attempt(delivery)
    pairs = set(WebhookDelivery.objects.values_list("event_id", "endpoint_id"))
    assert pairs == {(live_event.id, live.id), (test_event.id, test.id)}
    assert [r.webhook_id for r in live_rx.requests] == [live_event.id]
    assert [r.webhook_id for r in test_rx.requests] == [test_event.id]
    assert other_rx.requests == []
    assert json.loads(test_rx.requests[0].body)["test"] is True
    assert json.loads(live_rx.requests[0].body)["test"] is False


def test_an_endpoint_gets_only_the_types_it_subscribed_to(tenant, receiver):
    """Subscribed to message.delivered: a suppression event makes no delivery."""
    endpoint, _ = _endpoint(tenant, receiver.url, events=["message.delivered"])
    assert not WebhookDelivery.objects.filter(event=_emit(tenant)).exists()
    delivered = _emit(tenant, type="message.delivered")
    assert _delivery(delivered).endpoint_id == endpoint.id


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_emits_nothing(tenant, receiver, monkeypatch):
    """emit inside a transaction that fails leaves no event, no delivery, no task."""
    published = []
    monkeypatch.setattr(
        "webhooks.tasks.deliver_webhook.apply_async", lambda args, **kw: published.append(args)
    )
    _endpoint(tenant, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        _emit(tenant)
        raise RuntimeError("the change failed")
    assert not Event.objects.exists() and not WebhookDelivery.objects.exists()
    assert published == []
    committed = _emit(tenant)
    assert published == [(_delivery(committed).id,)]


def test_attempts_are_kept_per_delivery_and_workspace(tenant, receiver, t0):
    """Each attempt is a row of the delivery's workspace with its number, code and time."""
    receiver.then(500)
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _attempt(_delivery(_emit(tenant)))
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.response_code, attempt.at) == (1, 500, t0)
    assert attempt.workspace_id == tenant.workspace.id and attempt.response_body == "status 500"
