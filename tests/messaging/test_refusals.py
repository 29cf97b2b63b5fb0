"""Refused sends are kept (CONTRACT §13) and listed at GET /api/v1/refusals."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from compliance.services import suppression_create
from messaging.records import Refusal
from workspaces.audit import Actor
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

SEND, BATCH, LIST = "/api/v1/messages", "/api/v1/messages/batch", "/api/v1/refusals"
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SUPPRESSED = "+14155550177"


def _suppress(tenant, phone=SUPPRESSED):
    suppression_create(
        workspace_id=tenant.workspace.pk, phone=phone, source="api", actor=Actor.system()
    )


def _send(tenant, to, *, role="owner", mode="live", **extra):
    return tenant.client(role, mode).post(
        SEND,
        {"to": to, "from": tenant.sender.number, "body": "Hi"},
        format="json",
        HTTP_X_REQUEST_ID="req-abc",
        **extra,
    )


def test_a_refused_send_is_listed_with_who_and_how(tenant, other_tenant):
    """The refusal names code, numbers, token, door and request id; B's never show in A's list."""
    _suppress(tenant)
    _suppress(other_tenant)
    assert _send(tenant, SUPPRESSED).status_code == 422
    assert _send(other_tenant, SUPPRESSED).status_code == 422
    body = tenant.client("viewer").get(LIST).json()
    assert body["next"] is None and len(body["results"]) == 1
    row = body["results"][0]
    assert row["id"].startswith("ref_")
    assert row["code"] == "workspace_suppressed"
    assert row["to"] == SUPPRESSED and row["from"] == tenant.sender.number
    assert row["token"] == tenant.tokens[("owner", "live")].pk
    assert row["via"] == "api" and row["request_id"] == "req-abc"
    assert row["created_at"].endswith("Z") and row["count"] == 1
    theirs = other_tenant.client().get(LIST).json()["results"]
    assert [r["id"] for r in theirs] != [row["id"]] and len(theirs) == 1


def test_nothing_is_kept_for_an_accepted_send(tenant):
    assert _send(tenant, "+14155550100").status_code == 202
    assert not Refusal.objects.exists()


def test_a_refusal_rolled_back_by_the_send_is_still_kept(tenant):
    """spend_limit_exceeded is decided inside the send's transaction, which rolls back."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(spend_limit="0.0001")
    assert _send(tenant, "+14155550100").status_code == 402
    assert list(Refusal.objects.values_list("code", flat=True)) == ["spend_limit_exceeded"]


def test_validation_and_scope_refusals_are_kept_but_not_401(tenant, anon):
    assert _send(tenant, "nope").status_code == 400
    assert _send(tenant, "+14155550100", role="viewer").status_code == 403
    anon.post(SEND, {"to": "+14155550100", "body": "x"}, format="json")
    codes = sorted(Refusal.objects.values_list("code", flat=True))
    assert codes == ["forbidden", "invalid_number"]


def test_a_refusal_under_an_idempotency_key_is_kept_once(tenant):
    _suppress(tenant)
    for _ in range(2):
        assert _send(tenant, SUPPRESSED, HTTP_IDEMPOTENCY_KEY="k1").status_code == 422
    assert Refusal.objects.count() == 1  # the second answer is the stored one, replayed


def test_each_refused_batch_item_is_kept_and_accepted_ones_are_not(tenant):
    _suppress(tenant)
    sender = tenant.sender.number
    items = [
        {"to": "+14155550100", "from": sender, "body": "a"},
        {"to": SUPPRESSED, "from": sender, "body": "b"},
        {"to": "bad", "from": sender, "body": "c"},
        {"body": "no to"},
    ]
    assert tenant.client().post(BATCH, {"messages": items}, format="json").status_code == 200
    rows = Refusal.objects.order_by("code")
    assert [(r.code, r.to_number) for r in rows] == [
        ("invalid_number", "bad"),
        ("validation_error", ""),
        ("workspace_suppressed", SUPPRESSED),
    ]


def test_test_tokens_see_test_refusals_only(tenant):
    _suppress(tenant)
    _send(tenant, SUPPRESSED, mode="test")
    _send(tenant, SUPPRESSED)
    live = tenant.client().get(LIST).json()["results"]
    test = tenant.client("owner", "test").get(LIST).json()["results"]
    assert len(live) == len(test) == 1 and live[0]["id"] != test[0]["id"]


def test_429s_count_into_one_row_per_token_and_minute(tenant, other_tenant):
    Workspace.objects.filter(pk=tenant.workspace.pk).update(rate_limit_per_second=1)
    with time_machine.travel(START, tick=False) as traveller:
        codes = [_send(tenant, "+14155550100").status_code for _ in range(4)]
        assert codes[1:] == [429, 429, 429]
        traveller.shift(timedelta(seconds=60))
        _send(tenant, "+14155550101")
        _send(tenant, "+14155550102")
    rows = tenant.client("viewer").get(LIST, {"code": "rate_limited"}).json()["results"]
    assert [r["count"] for r in rows] == [1, 3]
    assert other_tenant.client().get(LIST).json()["results"] == []


def test_a_429_on_a_read_is_not_a_refused_send(tenant):
    Workspace.objects.filter(pk=tenant.workspace.pk).update(rate_limit_per_second=1)
    with time_machine.travel(START, tick=False):
        codes = [tenant.client().get(SEND).status_code for _ in range(3)]
    assert 429 in codes and not Refusal.objects.exists()


def test_filters_and_their_strictness(tenant):
    _suppress(tenant)
    with time_machine.travel(START, tick=False) as traveller:
        _send(tenant, SUPPRESSED)
        traveller.shift(timedelta(hours=1))
        _send(tenant, "nope")
    client = tenant.client("viewer")
    by_code = client.get(LIST, {"code": "invalid_number"}).json()["results"]
    assert [r["code"] for r in by_code] == ["invalid_number"]
    hour = "2026-03-10T13:00:00Z"
    assert [r["code"] for r in client.get(LIST, {"created_before": hour}).json()["results"]] == [
        "workspace_suppressed"
    ]
    assert len(client.get(LIST, {"created_after": hour}).json()["results"]) == 1
    for bad in ({"code": "nope"}, {"created_after": "yesterday"}, {"limit": 0}):
        assert client.get(LIST, bad).json()["error"]["code"] == "validation_error"


def test_refusals_need_messages_read(tenant):
    client = tenant.client("owner")
    client.credentials()
    assert client.get(LIST).status_code == 401
