"""Idempotency-Key (Stripe's rules) on the send path, and prices and monthly spend (CONTRACT §4)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from messaging import idempotency
from messaging.idempotency import request_hash
from messaging.models import IdempotencyKey, Message
from workspaces.models import Workspace

from .test_send_api import URL, error_code, patch_workspace, payload, send, table_rate

pytestmark = pytest.mark.django_db

BATCH = f"{URL}/batch"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
US = table_rate("US")


def post(tenant, body, key: str | None, mode: str = "live", path: str = URL):
    """POST `body` with an Idempotency-Key (None: without one)."""
    extra = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return tenant.client("owner", mode).post(path, body, format="json", **extra)


def count(tenant) -> int:
    """How many messages the tenant's workspace holds (both modes)."""
    return Message.objects.for_workspace(tenant.workspace).count()


def spend(tenant) -> Decimal:
    """The tenant's month_to_date_spend, from the API."""
    return Decimal(tenant.client().get("/api/v1/workspace").json()["month_to_date_spend"])


def replayed(response) -> bool:
    """True when the answer is a replay."""
    return response.get("Idempotent-Replayed") == "true"


# --- Idempotency --------------------------------------------------------------------------------


def test_same_key_same_request_replays_byte_for_byte(tenant, other_tenant):
    """The second answer is the first's bytes with Idempotent-Replayed: true; one message."""
    body = payload(tenant)
    first, second = post(tenant, body, "k-1"), post(tenant, body, "k-1")
    assert first.status_code == second.status_code == 202
    assert second.content == first.content
    assert replayed(second) and not replayed(first)
    assert count(tenant) == 1 and count(other_tenant) == 0


def test_key_order_in_the_json_does_not_matter(tenant, other_tenant):
    """The canonical JSON is hashed: the same fields in another order replay."""
    body = payload(tenant)
    first = post(tenant, body, "k-1")
    second = post(tenant, dict(reversed(list(body.items()))), "k-1")
    assert replayed(second) and second.content == first.content
    assert count(tenant) == 1


def test_a_replay_reserves_no_more_spend(tenant, other_tenant):
    """Replaying does not charge again."""
    body = payload(tenant)
    post(tenant, body, "k-1")
    post(tenant, body, "k-1")
    assert spend(tenant) == US and spend(other_tenant) == 0


def test_same_key_different_request_conflicts(tenant, other_tenant):
    """Another body under the same key answers 409 idempotency_conflict and sends nothing."""
    assert post(tenant, payload(tenant), "k-1").status_code == 202
    response = post(tenant, payload(tenant), "k-1")
    assert response.status_code == 409 and error_code(response) == "idempotency_conflict"
    assert not replayed(response)
    assert count(tenant) == 1


@pytest.mark.parametrize("key", ["k" * 256, ""])
def test_a_key_outside_1_to_255_characters_is_refused(tenant, other_tenant, key):
    """A 256-character (or empty) key answers 400 validation_error naming the header."""
    response = post(tenant, payload(tenant), key)
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert "Idempotency-Key" in response.json()["error"]["details"]
    assert count(tenant) == 0


def test_a_255_character_key_is_accepted(tenant, other_tenant):
    """255 characters is the longest key, and it replays."""
    body = payload(tenant)
    assert post(tenant, body, "k" * 255).status_code == 202
    assert replayed(post(tenant, body, "k" * 255))


def test_a_request_that_failed_validation_is_not_stored(tenant, other_tenant):
    """A 400 validation_error keeps no key: the corrected retry with that key is sent."""
    body = payload(tenant)
    bad = {k: v for k, v in body.items() if k != "body"}
    assert post(tenant, bad, "k-1").status_code == 400
    response = post(tenant, body, "k-1")
    assert response.status_code == 202 and not replayed(response)
    assert count(tenant) == 1


def test_a_missing_default_sender_is_not_stored(tenant, other_tenant):
    """No `from` and no default sender is validation: fixing the workspace lets the key through."""
    body = {"to": "+14155550100", "body": "hi"}
    assert error_code(post(tenant, body, "k-1")) == "validation_error"
    patch_workspace(tenant, default_sender=tenant.sender.number)
    response = post(tenant, body, "k-1")
    assert response.status_code == 202 and not replayed(response)


def test_a_policy_failure_is_stored_and_replayed(tenant, other_tenant):
    """A 422 is stored: after FR is allowed, the same key still replays the 422."""
    body = payload(tenant, to="+33612345678")
    first = post(tenant, body, "k-1")
    assert first.status_code == 422 and error_code(first) == "unsupported_region"
    patch_workspace(tenant, allowed_countries=["FR", "US"])
    second = post(tenant, body, "k-1")
    assert second.status_code == 422 and replayed(second) and second.content == first.content
    assert post(tenant, body, "k-2").status_code == 202
    assert count(tenant) == 1


def test_a_spend_refusal_is_stored_and_replayed(tenant, other_tenant):
    """A 402 is stored like any answer past validation (only 409, 429 and 5xx are not)."""
    patch_workspace(tenant, spend_limit="0")
    body = payload(tenant)
    first = post(tenant, body, "k-1")
    assert first.status_code == 402
    patch_workspace(tenant, spend_limit=None)
    second = post(tenant, body, "k-1")
    assert second.status_code == 402 and replayed(second)
    assert count(tenant) == 0


def test_a_duplicate_message_answer_is_not_stored(tenant, other_tenant):
    """409 duplicate_message frees the key: after the window the same key sends."""
    body = payload(tenant, body="hello")
    with time_machine.travel(T0, tick=False) as traveller:
        assert post(tenant, body, None).status_code == 202
        assert error_code(post(tenant, body, "k-1")) == "duplicate_message"
        traveller.shift(61)
        response = post(tenant, body, "k-1")
    assert response.status_code == 202 and not replayed(response)
    assert count(tenant) == 2


def test_keys_are_per_mode(tenant, other_tenant):
    """A test token and a live token use the same key independently."""
    patch_workspace(tenant, verified_recipients=["+14155550100"])
    body = payload(tenant, to="+14155550100")
    live, test = post(tenant, body, "k-1"), post(tenant, body, "k-1", mode="test")
    assert live.status_code == test.status_code == 202
    assert not replayed(test) and test.json()["id"] != live.json()["id"]
    assert (live.json()["test"], test.json()["test"]) == (False, True)


def test_keys_are_per_workspace(tenant, other_tenant):
    """A and B use the same key independently; each message stays in its workspace."""
    mine = post(tenant, payload(tenant), "k-1")
    theirs = post(other_tenant, payload(other_tenant), "k-1")
    assert mine.status_code == theirs.status_code == 202 and not replayed(theirs)
    assert count(tenant) == 1 and count(other_tenant) == 1
    assert tenant.client().get(f"{URL}/{theirs.json()['id']}").status_code == 404


def test_keys_are_per_path(tenant, other_tenant):
    """The same key on /messages and /messages/batch are two keys."""
    single = post(tenant, payload(tenant), "k-1")
    many = post(tenant, {"messages": [payload(tenant)]}, "k-1", path=BATCH)
    assert single.status_code == 202 and many.status_code == 200 and not replayed(many)
    assert count(tenant) == 2


def _hold_key(tenant, body, key: str, locked_until) -> None:
    now = datetime.now(UTC)
    IdempotencyKey.objects.create(
        workspace=tenant.workspace,
        test=False,
        path=URL,
        key=key,
        request_hash=request_hash(body),
        locked_until=locked_until,
        created_at=now - timedelta(seconds=90),
        expires_at=now + timedelta(hours=23),
    )


def test_a_key_still_in_flight_conflicts(tenant, other_tenant):
    """A first request still in flight: the retry answers 409 idempotency_conflict."""
    body = payload(tenant)
    _hold_key(tenant, body, "k-1", datetime.now(UTC) + timedelta(seconds=30))
    response = post(tenant, body, "k-1")
    assert response.status_code == 409 and error_code(response) == "idempotency_conflict"
    assert count(tenant) == 0


def test_an_abandoned_key_is_taken_over(tenant, other_tenant):
    """A key whose first request died in flight (lock past) is taken over and then stored."""
    body = payload(tenant)
    _hold_key(tenant, body, "k-1", datetime.now(UTC) - timedelta(seconds=1))
    first = post(tenant, body, "k-1")
    assert first.status_code == 202 and not replayed(first)
    assert post(tenant, body, "k-1").content == first.content
    assert count(tenant) == 1


def test_a_key_freed_while_it_was_being_read_is_taken(tenant, other_tenant, monkeypatch):
    """The row that blocked the claim vanished before it was read: the send goes on, no 500."""
    real_insert, calls = idempotency._insert, []

    def racing_insert(*args):
        calls.append(args)
        return None if len(calls) == 1 else real_insert(*args)

    monkeypatch.setattr(idempotency, "_insert", racing_insert)
    response = post(tenant, payload(tenant), "k-1")
    assert response.status_code == 202 and len(calls) == 2
    assert count(tenant) == 1 and count(other_tenant) == 0


def test_another_workspaces_key_in_flight_does_not_block(tenant, other_tenant):
    """B's in-flight key of the same name leaves A free."""
    body = payload(tenant)
    _hold_key(other_tenant, body, "k-1", datetime.now(UTC) + timedelta(seconds=30))
    assert post(tenant, body, "k-1").status_code == 202


def test_a_key_is_replayed_within_24_hours(tenant, other_tenant):
    """23 hours later the same key and request still replay."""
    body = payload(tenant)
    with time_machine.travel(T0, tick=False) as traveller:
        first = post(tenant, body, "k-1")
        traveller.shift(timedelta(hours=23))
        second = post(tenant, body, "k-1")
    assert replayed(second) and second.content == first.content


def test_a_key_older_than_24_hours_is_reused_freely(tenant, other_tenant):
    """After 24 h the key is free: a different request under it is sent, not a conflict."""
    with time_machine.travel(T0, tick=False) as traveller:
        first = post(tenant, payload(tenant), "k-1")
        traveller.shift(timedelta(hours=24, seconds=1))
        second = post(tenant, payload(tenant), "k-1")
    assert first.status_code == second.status_code == 202 and not replayed(second)
    assert second.json()["id"] != first.json()["id"] and count(tenant) == 2


def test_a_batch_replays_whole(tenant, other_tenant):
    """A batch under a key replays byte for byte and sends its items once."""
    body = {"messages": [payload(tenant), payload(tenant, to="12")]}
    first = post(tenant, body, "b-1", path=BATCH)
    second = post(tenant, body, "b-1", path=BATCH)
    assert first.status_code == 200 and replayed(second) and second.content == first.content
    assert count(tenant) == 1 and count(other_tenant) == 0


# --- Prices -------------------------------------------------------------------------------------


def test_one_us_segment_costs_the_table_rate(tenant, other_tenant):
    """A 1-segment US message costs prices.csv's US rate, and spend grows by it."""
    response = send(tenant)
    assert response.json()["price"] == f"{US:.4f}"
    assert spend(tenant) == US and spend(other_tenant) == 0


@pytest.mark.parametrize("body", ["a" * 161, "ж" * 71])
def test_two_segments_cost_twice(tenant, other_tenant, body):
    """Two segments (GSM-7 or UCS-2) cost two rates."""
    message = send(tenant, body=body).json()
    assert message["segments"] == 2 and message["price"] == f"{2 * US:.4f}"
    assert spend(tenant) == 2 * US


def test_a_test_token_send_is_free(tenant, other_tenant):
    """Test traffic is priced 0.0000 and adds nothing to spend."""
    patch_workspace(tenant, verified_recipients=["+14155550100"])
    message = send(tenant, mode="test", to="+14155550100", body="a" * 400).json()
    assert message["price"] == "0.0000" and message["segments"] == 3
    assert spend(tenant) == 0


def test_a_price_override_changes_the_price(tenant, other_tenant):
    """The workspace's price override for US replaces the table rate (for A only)."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(price_overrides={"US": "0.0125"})
    assert send(tenant, body="a" * 161).json()["price"] == "0.0250"
    assert send(other_tenant).json()["price"] == f"{US:.4f}"
    assert spend(tenant) == Decimal("0.0250")


def test_spend_adds_up(tenant, other_tenant):
    """Three sends: month_to_date_spend is the sum of their prices."""
    prices = [Decimal(send(tenant, body="a" * (160 * n)).json()["price"]) for n in (1, 2, 3)]
    assert spend(tenant) == sum(prices) and sum(prices) > 0
    assert spend(other_tenant) == 0


def test_a_refused_send_reserves_nothing(tenant, other_tenant):
    """A 422 leaves spend untouched."""
    assert send(tenant, body="cannabis").status_code == 422
    assert spend(tenant) == 0


# --- Spend limit --------------------------------------------------------------------------------


def test_the_spend_limit_refuses_what_would_pass_it(tenant, other_tenant):
    """Limit = one message: the first is sent, the second answers 402 spend_limit_exceeded."""
    patch_workspace(tenant, spend_limit=str(US))
    assert send(tenant).status_code == 202
    response = send(tenant)
    assert response.status_code == 402 and error_code(response) == "spend_limit_exceeded"
    assert response.json()["error"]["retry"] == "retry_after_spend_available"
    assert spend(tenant) == US and count(tenant) == 1


def test_another_workspaces_spend_does_not_count(tenant, other_tenant):
    """B spending does not use up A's limit."""
    patch_workspace(tenant, spend_limit=str(US))
    assert send(other_tenant).status_code == 202 and send(other_tenant).status_code == 202
    assert send(tenant).status_code == 202


def test_no_spend_limit_means_no_cap(tenant, other_tenant):
    """spend_limit null: nothing is refused for spend."""
    patch_workspace(tenant, spend_limit=None)
    assert all(send(tenant, body="a" * 1530).status_code == 202 for _ in range(3))
    assert spend(tenant) == 30 * US


def test_test_sends_pass_a_zero_limit(tenant, other_tenant):
    """A zero limit stops live sends but not free test sends."""
    patch_workspace(tenant, spend_limit="0", verified_recipients=["+14155550100"])
    assert send(tenant, mode="test", to="+14155550100").status_code == 202
    assert send(tenant).status_code == 402


def test_canceling_frees_room_under_the_limit(tenant, other_tenant):
    """A canceled message's released reservation lets the next one in."""
    patch_workspace(tenant, spend_limit=str(US))
    first = send(tenant).json()["id"]
    assert send(tenant).status_code == 402
    assert tenant.client().post(f"{URL}/{first}/cancel").status_code == 200
    assert send(tenant).status_code == 202 and spend(tenant) == US


def test_spend_is_counted_per_utc_month(tenant, other_tenant):
    """March's spend fills March's limit; on 1 April (UTC) spend starts again at 0."""
    patch_workspace(tenant, spend_limit=str(US))
    with time_machine.travel(datetime(2026, 3, 31, 23, 59, 30, tzinfo=UTC), tick=False) as t:
        assert send(tenant).status_code == 202
        assert send(tenant).status_code == 402
        t.move_to(datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC))
        assert spend(tenant) == 0
        assert send(tenant).status_code == 202
        assert spend(tenant) == US
