"""The webhooks API: endpoints, deliveries and events (CONTRACT §8), in one workspace and mode.

Deliveries come from emitting events inside `transaction.atomic()`; their tasks are published on
commit, and nothing commits in these tests, so no HTTP is attempted.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from webhooks.events import EVENT_TYPES, emit
from webhooks.models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint
from webhooks.services.endpoints import endpoint_create, endpoint_disable, signing_secrets
from workspaces.audit import Actor
from workspaces.clock import isoformat
from workspaces.models import AuditEvent

from ..support.factories import token_for

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhook-endpoints"
DELIVERIES = "/api/v1/webhook-deliveries"
EVENTS = "/api/v1/events"
HOOK = "http://127.0.0.1:9/hook"
PUBLIC = "https://93.184.216.34/hook"  # a global address literal: no DNS needed
ENDPOINT_FIELDS = {
    "id",
    "url",
    "events",
    "description",
    "enabled",
    "mode",
    "created_at",
    "disabled_at",
    "disabled_reason",
}


# --- helpers ------------------------------------------------------------------------------------


def make_endpoint(tenant, *, test=False, events=("*",), url=HOOK) -> WebhookEndpoint:
    """An endpoint made through the service, as the API would."""
    endpoint, _ = endpoint_create(
        workspace_id=tenant.workspace.pk,
        test=test,
        url=url,
        events=list(events),
        actor=Actor.system(),
    )
    return endpoint


def emit_event(tenant, type="message.sent", *, test=False) -> Event:
    """An event and its pending deliveries, written as a service would (in a transaction)."""
    with transaction.atomic():
        return emit(workspace_id=tenant.workspace.pk, test=test, type=type, data={"id": "msg_1"})


def delivery_of(endpoint, event) -> WebhookDelivery:
    return WebhookDelivery.objects.get(endpoint=endpoint, event=event)


def create(tenant, mode="live", **fields):
    """POST an endpoint with the owner's token of `mode`."""
    body = {"url": HOOK, "events": ["*"], **fields}
    return tenant.client("owner", mode).post(ENDPOINTS, body, format="json")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def error(response) -> dict:
    return response.json()["error"]


@pytest.fixture
def foreign(other_tenant) -> set[str]:
    """Workspace B's endpoint, event and delivery (live and test): ids that must never show."""
    found = set()
    for test in (False, True):
        endpoint = make_endpoint(other_tenant, test=test)
        event = emit_event(other_tenant, test=test)
        found |= {endpoint.id, event.id, delivery_of(endpoint, event).id}
    return found


def assert_no_foreign(response, foreign: set[str]) -> None:
    """None of workspace B's ids appears anywhere in the answer."""
    text = response.content.decode()
    assert not [i for i in foreign if i in text]


# --- endpoints ----------------------------------------------------------------------------------


def test_create_shows_the_secret_once_and_takes_the_mode_from_the_token(tenant, foreign):
    """201 with `whsec_…`; GET and list never show it; a test token makes test endpoints."""
    response = create(tenant, events=["message.sent", "message.delivered"], description="CRM")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ENDPOINT_FIELDS | {"secret"}
    assert body["secret"].startswith("whsec_") and body["id"].startswith("whe_")
    assert body["mode"] == "live" and body["enabled"] is True
    assert body["events"] == ["message.delivered", "message.sent"]
    assert body["description"] == "CRM" and body["created_at"].endswith("Z")

    detail = tenant.client().get(f"{ENDPOINTS}/{body['id']}")
    assert detail.status_code == 200 and set(detail.json()) == ENDPOINT_FIELDS
    listed = tenant.client().get(ENDPOINTS)
    assert ids(listed) == [body["id"]] and "secret" not in listed.json()["results"][0]
    assert body["secret"] not in (detail.content + listed.content).decode()
    assert_no_foreign(listed, foreign)

    test_body = create(tenant, "test").json()
    assert test_body["mode"] == "test"
    assert WebhookEndpoint.objects.get(pk=test_body["id"]).test is True
    audit = AuditEvent.objects.for_workspace(tenant.workspace).get(target_id=body["id"])
    assert audit.action == "webhook_endpoint.created" and audit.actor_type == "token"


def test_patch_changes_fields_and_re_enabling_clears_the_disabled_state(tenant, foreign):
    """url, events, description and enabled change; enabled=true after a disable starts afresh."""
    endpoint = make_endpoint(tenant)
    client = tenant.client()
    response = client.patch(
        f"{ENDPOINTS}/{endpoint.id}",
        {"url": "http://127.0.0.1:9/other", "events": ["message.failed"], "description": "ops"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["url"], body["events"], body["description"], body["enabled"]) == (
        "http://127.0.0.1:9/other",
        ["message.failed"],
        "ops",
        True,
    )
    endpoint_disable(
        endpoint=endpoint, reason="the endpoint answered 410 Gone", actor=Actor.system()
    )
    disabled = client.get(f"{ENDPOINTS}/{endpoint.id}").json()
    assert disabled["enabled"] is False and disabled["disabled_at"]
    assert disabled["disabled_reason"] == "the endpoint answered 410 Gone"
    enabled = client.patch(f"{ENDPOINTS}/{endpoint.id}", {"enabled": True}, format="json").json()
    assert (enabled["enabled"], enabled["disabled_at"], enabled["disabled_reason"]) == (
        True,
        None,
        "",
    )
    assert enabled["url"] == "http://127.0.0.1:9/other"  # a partial update keeps the rest
    assert_no_foreign(response, foreign)


def test_delete_answers_200_with_the_endpoint_and_removes_its_deliveries(tenant, foreign):
    """The endpoint and its deliveries go; the event stays; the removal is audited."""
    endpoint = make_endpoint(tenant)
    event = emit_event(tenant)
    delivery = delivery_of(endpoint, event)
    response = tenant.client().delete(f"{ENDPOINTS}/{endpoint.id}")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == endpoint.id and set(response.json()) == ENDPOINT_FIELDS
    assert tenant.client().get(f"{ENDPOINTS}/{endpoint.id}").status_code == 404
    assert not WebhookDelivery.objects.filter(pk=delivery.id).exists()
    assert Event.objects.filter(pk=event.id).exists()
    assert (
        AuditEvent.objects.for_workspace(tenant.workspace)
        .filter(action="webhook_endpoint.deleted", target_id=endpoint.id)
        .exists()
    )
    assert WebhookEndpoint.objects.filter(pk__in=foreign).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": HOOK}, "events"),
        ({"url": HOOK, "events": []}, "events"),
        ({"url": HOOK, "events": ["message.sent", "message.exploded"]}, "events"),
        ({"url": HOOK, "events": ["ping"]}, "events"),
        ({"url": HOOK, "events": ["*", "message.sent"]}, "events"),
        ({"url": HOOK, "events": "message.sent"}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": "ftp://127.0.0.1/hook", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": HOOK, "events": ["*"], "description": "x" * 501}, "description"),
        ({"url": HOOK, "events": ["*"], "enabled": "maybe"}, "enabled"),
    ],
)
def test_malformed_endpoints_are_validation_errors_naming_the_field(
    tenant, other_tenant, body, field
):
    """400 validation_error with `details[field]`; nothing is created."""
    response = tenant.client().post(ENDPOINTS, body, format="json")
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "validation_error"
    assert field in error(response)["details"]
    assert not WebhookEndpoint.objects.filter(
        workspace__in=[tenant.workspace, other_tenant.workspace]
    ).exists()


def test_every_subscribable_event_type_and_the_wildcard_are_accepted(tenant, other_tenant):
    """The CONTRACT §8 types (ping aside) are accepted; `*` alone means all of them."""
    types = [t for t in EVENT_TYPES if t != "ping"]
    assert create(tenant, events=types).json()["events"] == sorted(types)
    assert create(tenant, events=["*"]).json()["events"] == ["*"]
    assert ids(other_tenant.client().get(ENDPOINTS)) == []


def test_patch_validates_like_create(tenant, other_tenant):
    """Unknown event types and bad URLs in a PATCH are refused and change nothing."""
    endpoint = make_endpoint(tenant)
    client = tenant.client()
    for body, field in (({"events": ["nope"]}, "events"), ({"url": "gopher://x"}, "url")):
        response = client.patch(f"{ENDPOINTS}/{endpoint.id}", body, format="json")
        assert response.status_code == 400 and field in error(response)["details"]
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == (HOOK, ["*"])
    foreign = make_endpoint(other_tenant)
    response = client.patch(f"{ENDPOINTS}/{foreign.id}", {"events": ["nope"]}, format="json")
    assert response.status_code == 404


PRIVATE_URLS = [
    "http://127.0.0.1/x",
    "http://10.0.0.1/x",
    "http://169.254.169.254/x",
    "http://[::1]/x",
    "http://localhost/x",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_targets_are_refused_when_not_allowed(tenant, other_tenant, settings, url):
    """Loopback, private and link-local targets (literal or by name) → 400 on create and PATCH."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = create(tenant, url=url)
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "validation_error" and "url" in error(response)["details"]
    endpoint = make_endpoint(tenant, url=PUBLIC)
    patched = tenant.client().patch(f"{ENDPOINTS}/{endpoint.id}", {"url": url}, format="json")
    assert patched.status_code == 400 and "url" in error(patched)["details"]
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC
    assert WebhookEndpoint.objects.for_workspace(other_tenant.workspace).count() == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://[::1]/x", "http://localhost/x"])
def test_loopback_targets_are_accepted_when_allowed(tenant, other_tenant, settings, url):
    """WEBHOOKS_ALLOW_PRIVATE_TARGETS=true (embedded default, tests) lets loopback through
    (and nothing else private: tests/webhooks/test_ssrf.py)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    response = create(tenant, url=url)
    assert response.status_code == 201, response.content
    assert ids(other_tenant.client().get(ENDPOINTS)) == []


def test_a_public_target_is_accepted_with_the_guard_on(tenant, other_tenant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    assert create(tenant, url=PUBLIC).status_code == 201
    assert ids(other_tenant.client().get(ENDPOINTS)) == []


def test_rotate_secret_returns_a_new_secret_and_the_old_one_signs_for_24_hours(
    tenant, other_tenant
):
    """200 with a different `secret`; for 24 h both secrets sign, then only the new one."""
    created = create(tenant).json()
    response = tenant.client().post(f"{ENDPOINTS}/{created['id']}/rotate-secret")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    assert body["id"] == created["id"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    now = timezone.now()
    assert signing_secrets(endpoint, now) == [body["secret"], created["secret"]]
    assert signing_secrets(endpoint, now + timedelta(hours=25)) == [body["secret"]]
    assert "secret" not in tenant.client().get(f"{ENDPOINTS}/{created['id']}").json()
    foreign = make_endpoint(other_tenant)
    before = foreign.secret_encrypted
    assert tenant.client().post(f"{ENDPOINTS}/{foreign.id}/rotate-secret").status_code == 404
    foreign.refresh_from_db()
    assert foreign.secret_encrypted == before


def test_test_sends_a_ping_delivery(tenant, foreign):
    """202 with a pending delivery of a `ping` event, to this endpoint alone, in its mode."""
    endpoint = make_endpoint(tenant, test=True, events=["message.sent"])
    make_endpoint(tenant, test=True)  # another endpoint of the mode gets no ping
    response = tenant.client("owner", "test").post(f"{ENDPOINTS}/{endpoint.id}/test")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["endpoint"], body["event_type"], body["status"]) == (
        endpoint.id,
        "ping",
        "pending",
    )
    assert body["id"].startswith("whd_") and body["attempts"] == []
    event = Event.objects.get(pk=body["event_id"])
    assert (event.type, event.test, event.data) == ("ping", True, {"endpoint": endpoint.id})
    assert WebhookDelivery.objects.filter(event=event).count() == 1
    assert_no_foreign(response, foreign)


def test_test_and_replays_refuse_a_disabled_endpoint(tenant, other_tenant):
    """409 invalid_state: an attempt to a disabled endpoint would fail at once."""
    endpoint = make_endpoint(tenant)
    delivery = delivery_of(endpoint, emit_event(tenant))
    endpoint_disable(endpoint=endpoint, reason="manual", actor=Actor.system())
    client = tenant.client()
    since, until = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1)
    answers = [
        client.post(f"{ENDPOINTS}/{endpoint.id}/test"),
        client.post(f"{DELIVERIES}/{delivery.id}/replay"),
        client.post(
            f"{ENDPOINTS}/{endpoint.id}/replay",
            {"since": isoformat(since), "until": isoformat(until)},
            format="json",
        ),
    ]
    assert [(r.status_code, error(r)["code"]) for r in answers] == [(409, "invalid_state")] * 3
    assert not Event.objects.for_workspace(other_tenant.workspace).exists()


# --- deliveries ---------------------------------------------------------------------------------


def test_deliveries_list_with_filters(tenant, foreign):
    """endpoint, event_id and status filters; newest first; only this workspace and mode."""
    sent_only = make_endpoint(tenant, events=["message.sent"])
    everything = make_endpoint(tenant)
    first = emit_event(tenant, "message.sent")
    second = emit_event(tenant, "message.delivered")
    emit_event(tenant, "message.sent", test=True)  # test mode: no live endpoint gets it
    d1, d2, d3 = (
        delivery_of(sent_only, first),
        delivery_of(everything, first),
        delivery_of(everything, second),
    )
    WebhookDelivery.objects.filter(pk=d2.pk).update(status="failed", next_retry_at=None)
    client = tenant.client()

    everything_listed = client.get(DELIVERIES)
    assert set(ids(everything_listed)) == {d1.id, d2.id, d3.id}
    assert ids(everything_listed)[0] == d3.id  # the newest event's delivery comes first
    assert_no_foreign(everything_listed, foreign)
    assert set(ids(client.get(DELIVERIES, {"endpoint": everything.id}))) == {d2.id, d3.id}
    assert set(ids(client.get(DELIVERIES, {"event_id": first.id}))) == {d1.id, d2.id}
    assert ids(client.get(DELIVERIES, {"status": "failed"})) == [d2.id]
    assert set(ids(client.get(DELIVERIES, {"status": "pending"}))) == {d1.id, d3.id}
    bad = client.get(DELIVERIES, {"status": "lost"})
    assert bad.status_code == 400 and "status" in error(bad)["details"]
    assert ids(client.get(DELIVERIES, {"endpoint": sorted(foreign)[0]})) == []


def test_a_delivery_shows_its_attempts(tenant, foreign):
    """The resource of CONTRACT §8, attempts in order."""
    endpoint = make_endpoint(tenant)
    event = emit_event(tenant)
    delivery = delivery_of(endpoint, event)
    now = timezone.now()
    for number, code in ((1, 500), (2, 200)):
        DeliveryAttempt.objects.create(
            workspace_id=tenant.workspace.pk,
            delivery=delivery,
            number=number,
            at=now,
            response_code=code,
            latency_ms=12,
            response_body="ok",
            error="",
        )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="succeeded", attempt=2, response_code=200, latency_ms=12, next_retry_at=None
    )
    response = tenant.client().get(f"{DELIVERIES}/{delivery.id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "endpoint",
        "event_id",
        "event_type",
        "status",
        "attempt",
        "response_code",
        "latency_ms",
        "response_body",
        "next_retry",
        "next_retry_at",
        "created_at",
        "attempts",
    }
    assert (body["endpoint"], body["event_id"], body["event_type"]) == (
        endpoint.id,
        event.id,
        "message.sent",
    )
    assert (body["status"], body["attempt"], body["response_code"]) == ("succeeded", 2, 200)
    assert body["next_retry_at"] is None and body["next_retry"] is None
    assert [(a["number"], a["response_code"]) for a in body["attempts"]] == [(1, 500), (2, 200)]
    assert set(body["attempts"][0]) == {
        "number",
        "at",
        "response_code",
        "latency_ms",
        "response_body",
        "error",
    }
    assert_no_foreign(response, foreign)


def test_deliveries_list_queries_do_not_grow_with_the_page(tenant, foreign):
    """Event and attempts come in a fixed number of queries per page."""
    endpoint = make_endpoint(tenant)
    for _ in range(12):
        delivery = delivery_of(endpoint, emit_event(tenant))
        DeliveryAttempt.objects.create(
            workspace_id=tenant.workspace.pk,
            delivery=delivery,
            number=1,
            at=timezone.now(),
            response_code=500,
        )
    client = tenant.client()
    client.get(DELIVERIES, {"limit": 1})  # the token's first use writes last_used_at
    counts = []
    for limit in (2, 12):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(DELIVERIES, {"limit": limit})
        assert len(response.json()["results"]) == limit
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert_no_foreign(response, foreign)


def test_replay_puts_the_delivery_back_to_pending_with_the_same_event(tenant, other_tenant):
    """202 with the delivery, pending again on a fresh schedule; audited; B's are 404."""
    endpoint = make_endpoint(tenant)
    event = emit_event(tenant)
    delivery = delivery_of(endpoint, event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempt=8, step=8, next_retry_at=None
    )
    response = tenant.client().post(f"{DELIVERIES}/{delivery.id}/replay")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["id"], body["event_id"], body["status"]) == (delivery.id, event.id, "pending")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.step) == ("pending", 0) and delivery.next_retry_at
    assert (
        AuditEvent.objects.for_workspace(tenant.workspace)
        .filter(action="webhook_delivery.replayed", target_id=delivery.id)
        .exists()
    )

    foreign_endpoint = make_endpoint(other_tenant)
    foreign = delivery_of(foreign_endpoint, emit_event(other_tenant))
    WebhookDelivery.objects.filter(pk=foreign.pk).update(status="failed")
    assert tenant.client().post(f"{DELIVERIES}/{foreign.id}/replay").status_code == 404
    assert tenant.client().get(f"{DELIVERIES}/{foreign.id}").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "failed"


def test_range_replay_counts_only_failed_deliveries_in_range(tenant, other_tenant):
    """[since, until): failed ones in range are replayed; others, and other endpoints', stay."""
    endpoint, neighbour = make_endpoint(tenant), make_endpoint(tenant)
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=2)
    made = {}
    for name, offset in (("before", -1), ("start", 0), ("middle", 5), ("ok", 6), ("end", 10)):
        with time_machine.travel(t0 + timedelta(hours=offset), tick=False):
            event = emit_event(tenant)
        made[name] = delivery_of(endpoint, event)
        made[f"{name}-neighbour"] = delivery_of(neighbour, event)
    failed = [d.pk for name, d in made.items() if name != "ok"]
    WebhookDelivery.objects.filter(pk__in=failed).update(status="failed", next_retry_at=None)
    WebhookDelivery.objects.filter(pk=made["ok"].pk).update(status="succeeded")

    body = {"since": isoformat(t0), "until": isoformat(t0 + timedelta(hours=10))}
    response = tenant.client().post(f"{ENDPOINTS}/{endpoint.id}/replay", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"replayed": 2}
    status = dict(
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in made.values()]).values_list(
            "id", "status"
        )
    )
    assert [status[made[n].pk] for n in ("before", "start", "middle", "ok", "end")] == [
        "failed",
        "pending",
        "pending",
        "succeeded",
        "failed",
    ]
    assert status[made["start-neighbour"].pk] == "failed"
    foreign = make_endpoint(other_tenant)
    assert (
        tenant.client().post(f"{ENDPOINTS}/{foreign.id}/replay", body, format="json").status_code
        == 404
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"since": "2026-01-01T00:00:00Z"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "2026-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "yesterday", "until": "2026-01-01T00:00:00Z"},
    ],
)
def test_range_replay_needs_since_before_until(tenant, other_tenant, body):
    endpoint = make_endpoint(tenant)
    response = tenant.client().post(f"{ENDPOINTS}/{endpoint.id}/replay", body, format="json")
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "validation_error" and error(response)["details"]
    assert not WebhookEndpoint.objects.for_workspace(other_tenant.workspace).exists()


# --- events -------------------------------------------------------------------------------------


def test_events_list_the_last_30_days_newest_first_with_filters(tenant, other_tenant):
    """`type` and inclusive `created_after`; older than 30 days is gone, for reading one too."""
    now = timezone.now().replace(microsecond=0)
    made = {}
    for name, type, age in (
        ("old", "message.sent", timedelta(days=31)),
        ("month", "message.sent", timedelta(days=29)),
        ("hour", "message.delivered", timedelta(hours=1)),
        ("now", "message.sent", timedelta(0)),
    ):
        with time_machine.travel(now - age, tick=False):
            made[name] = emit_event(tenant, type)
            emit_event(other_tenant, type)
    with time_machine.travel(now, tick=False):
        client = tenant.client("viewer")  # messages:read is enough
        listed = client.get(EVENTS)
        assert ids(listed) == [made["now"].id, made["hour"].id, made["month"].id]
        first = listed.json()["results"][0]
        assert first == {
            "id": made["now"].id,
            "type": "message.sent",
            "created_at": isoformat(now),
            "test": False,
            "data": {"id": "msg_1"},
        }
        assert ids(client.get(EVENTS, {"type": "message.sent"})) == [
            made["now"].id,
            made["month"].id,
        ]
        after = isoformat(now - timedelta(hours=1))
        assert ids(client.get(EVENTS, {"created_after": after})) == [
            made["now"].id,
            made["hour"].id,
        ]
        assert client.get(f"{EVENTS}/{made['hour'].id}").json()["type"] == "message.delivered"
        assert client.get(f"{EVENTS}/{made['old'].id}").status_code == 404
        foreign = Event.objects.for_workspace(other_tenant.workspace).first()
        assert client.get(f"{EVENTS}/{foreign.id}").status_code == 404


def test_events_are_split_by_mode(tenant, foreign):
    """A test token sees test events only; a live token live ones only."""
    live, test = emit_event(tenant), emit_event(tenant, test=True)
    assert ids(tenant.client("owner", "live").get(EVENTS)) == [live.id]
    test_listed = tenant.client("owner", "test").get(EVENTS)
    assert ids(test_listed) == [test.id] and test_listed.json()["results"][0]["test"] is True
    assert tenant.client("owner", "test").get(f"{EVENTS}/{live.id}").status_code == 404
    assert tenant.client("owner", "live").get(f"{EVENTS}/{test.id}").status_code == 404
    assert_no_foreign(test_listed, foreign)


# --- scopes, tenancy, modes ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "agent", "campaign_manager"])
def test_webhook_routes_need_webhooks_manage(tenant, other_tenant, role):
    """403 forbidden with details.required_scope for every webhook-endpoint/delivery route."""
    endpoint = make_endpoint(tenant)
    delivery = delivery_of(endpoint, emit_event(tenant))
    client = tenant.client(role)
    answers = [
        client.get(ENDPOINTS),
        client.post(ENDPOINTS, {"url": HOOK, "events": ["*"]}, format="json"),
        client.get(f"{ENDPOINTS}/{endpoint.id}"),
        client.patch(f"{ENDPOINTS}/{endpoint.id}", {"enabled": False}, format="json"),
        client.delete(f"{ENDPOINTS}/{endpoint.id}"),
        client.post(f"{ENDPOINTS}/{endpoint.id}/rotate-secret"),
        client.post(f"{ENDPOINTS}/{endpoint.id}/test"),
        client.post(f"{ENDPOINTS}/{endpoint.id}/replay", {}, format="json"),
        client.get(DELIVERIES),
        client.get(f"{DELIVERIES}/{delivery.id}"),
        client.post(f"{DELIVERIES}/{delivery.id}/replay"),
    ]
    for response in answers:
        assert response.status_code == 403, response.content
        assert error(response)["code"] == "forbidden"
        assert error(response)["details"] == {"required_scope": "webhooks:manage"}
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()
    assert tenant.client(role).get(EVENTS).status_code == 200  # messages:read
    assert WebhookEndpoint.objects.for_workspace(other_tenant.workspace).count() == 0


def test_events_need_messages_read(tenant, other_tenant):
    """A token with webhooks:manage alone may not list events."""
    _, secret = token_for(tenant.workspace, "admin", scopes=["webhooks:manage"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get(ENDPOINTS).status_code == 200
    response = client.get(EVENTS)
    assert response.status_code == 403
    assert error(response)["details"] == {"required_scope": "messages:read"}
    assert ids(other_tenant.client().get(EVENTS)) == []


def test_another_workspaces_objects_are_404_on_every_route(tenant, other_tenant):
    """B's endpoint, delivery and event ids answer 404 not_found to A and stay untouched."""
    endpoint = make_endpoint(other_tenant)
    event = emit_event(other_tenant)
    delivery = delivery_of(endpoint, event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    client = tenant.client()
    window = {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"}
    answers = [
        client.get(f"{ENDPOINTS}/{endpoint.id}"),
        client.patch(f"{ENDPOINTS}/{endpoint.id}", {"enabled": False}, format="json"),
        client.delete(f"{ENDPOINTS}/{endpoint.id}"),
        client.post(f"{ENDPOINTS}/{endpoint.id}/rotate-secret"),
        client.post(f"{ENDPOINTS}/{endpoint.id}/test"),
        client.post(f"{ENDPOINTS}/{endpoint.id}/replay", window, format="json"),
        client.get(f"{DELIVERIES}/{delivery.id}"),
        client.post(f"{DELIVERIES}/{delivery.id}/replay"),
        client.get(f"{EVENTS}/{event.id}"),
    ]
    assert [(r.status_code, error(r)["code"]) for r in answers] == [(404, "not_found")] * 9
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert endpoint.enabled and delivery.status == "failed"
    assert Event.objects.filter(workspace=other_tenant.workspace, type="ping").count() == 0
    for url in (ENDPOINTS, DELIVERIES, EVENTS):
        assert ids(client.get(url)) == []


def test_test_and_live_objects_are_separate(tenant, foreign):
    """A test token reaches test endpoints and their deliveries only; a live token live ones."""
    live, test = make_endpoint(tenant), make_endpoint(tenant, test=True)
    live_delivery = delivery_of(live, emit_event(tenant))
    test_delivery = delivery_of(test, emit_event(tenant, test=True))
    live_client, test_client = tenant.client("owner", "live"), tenant.client("owner", "test")
    assert ids(live_client.get(ENDPOINTS)) == [live.id]
    assert ids(test_client.get(ENDPOINTS)) == [test.id]
    assert ids(live_client.get(DELIVERIES)) == [live_delivery.id]
    test_listed = test_client.get(DELIVERIES)
    assert ids(test_listed) == [test_delivery.id]
    for client, other_endpoint, other_delivery in (
        (live_client, test, test_delivery),
        (test_client, live, live_delivery),
    ):
        assert client.get(f"{ENDPOINTS}/{other_endpoint.id}").status_code == 404
        assert client.post(f"{ENDPOINTS}/{other_endpoint.id}/test").status_code == 404
        assert client.delete(f"{ENDPOINTS}/{other_endpoint.id}").status_code == 404
        assert client.get(f"{DELIVERIES}/{other_delivery.id}").status_code == 404
        assert client.post(f"{DELIVERIES}/{other_delivery.id}/replay").status_code == 404
    assert WebhookEndpoint.objects.filter(pk__in=[live.id, test.id]).count() == 2
    assert_no_foreign(test_listed, foreign)
