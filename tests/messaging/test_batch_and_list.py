"""POST /messages/batch and GET /messages: order, spend, rate limit, filters, pages."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.actions.inbound import inbound_receive
from messaging.models import Message, Status
from messaging.providers.base import InboundSMS
from workspaces.models import Workspace

from ..support.factories import message_for, next_number
from .test_send_api import (
    URL,
    add_sender,
    error_code,
    listed_ids,
    patch_workspace,
    payload,
    table_rate,
)

pytestmark = pytest.mark.django_db

BATCH = f"{URL}/batch"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)


def batch(tenant, items: list, mode: str = "live"):
    """POST a batch with the tenant's owner token."""
    return tenant.client("owner", mode).post(BATCH, {"messages": items}, format="json")


def kinds(response) -> list[str]:
    """Per result, "message" or the error's code."""
    results = response.json()["results"]
    return [r["error"]["code"] if "error" in r else "message" for r in results]


def sent_at(tenant, moment, **fields) -> Message:
    """A message accepted through the send service at a known time."""
    with time_machine.travel(moment, tick=False):
        return message_for(tenant.workspace, tenant.sender, **fields)


# --- Batch --------------------------------------------------------------------------------------


def test_results_follow_request_order_mixing_messages_and_errors(tenant, other_tenant):
    """A bad item is an error item (not a 400 for all); results are in request order."""
    items = [
        payload(tenant),
        {k: v for k, v in payload(tenant).items() if k != "to"},
        payload(tenant, to="12"),
        payload(tenant, body="cannabis"),
        payload(tenant),
    ]
    response = batch(tenant, items)
    assert response.status_code == 200, response.content
    expected = ["message", "validation_error", "invalid_number", "content_blocked", "message"]
    assert kinds(response) == expected
    results = response.json()["results"]
    assert [results[0]["message"]["to"], results[4]["message"]["to"]] == [
        items[0]["to"],
        items[4]["to"],
    ]
    assert "to" in results[1]["error"]["details"]
    assert Message.objects.for_workspace(tenant.workspace).count() == 2
    assert listed_ids(other_tenant) == []


def test_error_items_carry_the_whole_envelope(tenant, other_tenant):
    """Each error item has code, message, fix, retry and details, like a lone answer."""
    response = batch(tenant, [payload(tenant, to="+33612345678")])
    error = response.json()["results"][0]["error"]
    assert set(error) == {"code", "message", "fix", "retry", "details"}
    assert error["code"] == "unsupported_region" and error["details"]["country"] == "FR"


def test_a_non_object_item_is_an_error_item(tenant, other_tenant):
    """A string among the items is a validation_error item; the others are still sent."""
    response = batch(tenant, ["not a message", payload(tenant)])
    assert response.status_code == 200, response.content
    assert kinds(response) == ["validation_error", "message"]
    assert listed_ids(other_tenant) == []


def test_message_items_are_the_message_resource(tenant, other_tenant):
    """A message item is the same resource GET /messages/{id} returns."""
    item = batch(tenant, [payload(tenant)]).json()["results"][0]["message"]
    assert item["status"] == "queued" and item["id"].startswith("msg_")
    assert tenant.client().get(f"{URL}/{item['id']}").json() == item
    assert other_tenant.client().get(f"{URL}/{item['id']}").status_code == 404


def test_spend_is_applied_in_order(tenant, other_tenant):
    """A limit that allows two messages: items 1 and 2 pass, item 3 is spend_limit_exceeded."""
    patch_workspace(tenant, spend_limit=str(2 * table_rate("US")))
    response = batch(tenant, [payload(tenant) for _ in range(3)])
    assert kinds(response) == ["message", "message", "spend_limit_exceeded"]
    spend = tenant.client().get("/api/v1/workspace").json()["month_to_date_spend"]
    assert Decimal(spend) == 2 * table_rate("US")
    assert other_tenant.client().get("/api/v1/workspace").json()["month_to_date_spend"] == "0.0000"


def test_a_cheap_item_after_a_refused_one_still_fits(tenant, other_tenant):
    """Each item is judged alone: after a 2-segment item is refused, a 1-segment one fits."""
    patch_workspace(tenant, spend_limit=str(table_rate("US")))
    items = [payload(tenant, body="a" * 161), payload(tenant)]
    assert kinds(batch(tenant, items)) == ["spend_limit_exceeded", "message"]


def test_duplicates_within_one_batch(tenant, other_tenant):
    """The same to and body twice in one batch: the second is duplicate_message."""
    item = payload(tenant, body="hello")
    assert kinds(batch(tenant, [item, item])) == ["message", "duplicate_message"]
    assert Message.objects.for_workspace(tenant.workspace).count() == 1


def test_items_use_the_default_sender(tenant, other_tenant):
    """An item without `from` sends from the default sender; without one it is an error item."""
    item = {"to": next_number(), "body": "hi"}
    assert kinds(batch(tenant, [item])) == ["validation_error"]
    patch_workspace(tenant, default_sender=tenant.sender.number)
    response = batch(tenant, [item])
    assert response.json()["results"][0]["message"]["from"] == tenant.sender.number


def test_a_test_token_batch_makes_free_test_messages(tenant, other_tenant):
    """Test-token items are test messages at price 0, unverified recipients refused."""
    patch_workspace(tenant, verified_recipients=["+14155550100"])
    response = batch(tenant, [payload(tenant, to="+14155550100"), payload(tenant)], mode="test")
    assert kinds(response) == ["message", "recipient_not_verified"]
    message = response.json()["results"][0]["message"]
    assert (message["test"], message["price"]) == (True, "0.0000")
    assert listed_ids(tenant) == [] and listed_ids(other_tenant, mode="test") == []


def test_more_than_1000_items_is_a_400(tenant, other_tenant):
    """1001 items answer 400 validation_error for the batch, and nothing is sent."""
    response = batch(tenant, [{"to": "12", "body": "x"}] * 1001)
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert "messages" in response.json()["error"]["details"]
    assert not Message.objects.for_workspace(tenant.workspace).exists()


@pytest.mark.parametrize("body", [{"messages": []}, {}, {"messages": "x"}, []])
def test_a_malformed_batch_is_a_400(tenant, other_tenant, body):
    """An empty, missing or non-list `messages` answers 400 validation_error."""
    response = tenant.client().post(BATCH, body, format="json")
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert not Message.objects.for_workspace(tenant.workspace).exists()


def test_a_batch_takes_one_rate_limit_token(tenant, other_tenant):
    """At 1 per second a 5-item batch passes; an immediate second request is 429."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(rate_limit_per_second=1)
    with time_machine.travel(T0, tick=False):
        first = batch(tenant, [payload(tenant) for _ in range(5)])
        second = batch(tenant, [payload(tenant)])
        other = batch(other_tenant, [payload(other_tenant)])
    assert first.status_code == 200 and kinds(first) == ["message"] * 5
    assert second.status_code == 429 and error_code(second) == "rate_limited"
    assert int(second["Retry-After"]) >= 1
    assert other.status_code == 200
    assert Message.objects.for_workspace(tenant.workspace).count() == 5


def test_a_viewer_cannot_batch(tenant, other_tenant):
    """Batch needs `messages:send`."""
    response = tenant.client("viewer").post(BATCH, {"messages": [payload(tenant)]}, format="json")
    assert response.status_code == 403 and error_code(response) == "forbidden"
    assert not Message.objects.for_workspace(tenant.workspace).exists()


# --- List: filters ------------------------------------------------------------------------------


@pytest.fixture
def three(tenant, other_tenant) -> list[Message]:
    """A's messages at T0, T1, T2 (B has one at each time too, to the same numbers)."""
    mine = [sent_at(tenant, t, to=f"+1415555010{i}") for i, t in enumerate((T0, T1, T2))]
    for i, t in enumerate((T0, T1, T2)):
        sent_at(other_tenant, t, to=f"+1415555010{i}")
    return mine


def test_newest_first(tenant, other_tenant, three):
    """The list is newest first and holds only A's messages."""
    assert listed_ids(tenant) == [m.id for m in reversed(three)]


def test_filter_by_status(tenant, other_tenant, three):
    """?status=sent lists only the sent one."""
    Message.objects.filter(pk=three[1].pk).update(status=Status.SENT)
    Message.objects.for_workspace(other_tenant.workspace).update(status=Status.SENT)
    assert listed_ids(tenant, status="sent") == [three[1].id]
    assert listed_ids(tenant, status="queued") == [three[2].id, three[0].id]


def test_filter_by_to(tenant, other_tenant, three):
    """?to= matches the E.164 recipient, in A only (B messaged the same number)."""
    assert listed_ids(tenant, to="+14155550101") == [three[1].id]


def test_filter_by_to_reads_numbers_as_they_are_written(tenant, other_tenant, three):
    """An unencoded `+` (read as a space) and a national number both find the E.164 recipient."""
    client = tenant.client()
    unencoded = client.get(f"{URL}?to=+14155550101").json()["results"]
    assert [m["id"] for m in unencoded] == [three[1].id]
    assert listed_ids(tenant, to="(415) 555-0101") == [three[1].id]
    assert listed_ids(tenant, to="+14155550109") == []


def test_filter_by_from(tenant, other_tenant, three):
    """?from= lists messages from that sender only."""
    second = add_sender(tenant, "+14155550188")
    extra = message_for(tenant.workspace, second)
    assert listed_ids(tenant, **{"from": second.number}) == [extra.id]
    assert len(listed_ids(tenant, **{"from": tenant.sender.number})) == 3
    assert listed_ids(tenant, **{"from": second.number[2:]}) == [extra.id]
    assert listed_ids(tenant, **{"from": other_tenant.sender.number}) == []


def test_filter_by_direction(tenant, other_tenant, three):
    """?direction=inbound lists received messages; outbound lists the sent ones."""
    sms = InboundSMS(
        provider="simulator",
        provider_message_id="SMin1",
        from_="+14155550150",
        to=tenant.sender.number,
        body="hello back",
    )
    inbound = inbound_receive(sms=sms)
    assert listed_ids(tenant, direction="inbound") == [inbound.id]
    assert inbound.id not in listed_ids(tenant, direction="outbound")
    assert listed_ids(other_tenant, direction="inbound") == []


def test_filter_by_category(tenant, other_tenant, three):
    """?category=marketing lists only marketing messages."""
    Message.objects.filter(pk=three[0].pk).update(category=Message.MARKETING)
    Message.objects.for_workspace(other_tenant.workspace).update(category=Message.MARKETING)
    assert listed_ids(tenant, category="marketing") == [three[0].id]
    assert len(listed_ids(tenant, category="transactional")) == 2


def test_filter_by_campaign(tenant, other_tenant, three):
    """?campaign= lists that campaign's messages."""
    mine = message_for(tenant.workspace, tenant.sender, campaign_id="cmp_spring")
    message_for(other_tenant.workspace, other_tenant.sender, campaign_id="cmp_spring")
    assert listed_ids(tenant, campaign="cmp_spring") == [mine.id]


def test_filter_by_test(tenant, other_tenant, three):
    """?test= narrows within the token's mode: a live token never lists test messages."""
    patch_workspace(tenant, verified_recipients=["+14155550100"])
    tenant.workspace.refresh_from_db()
    test_message = message_for(tenant.workspace, tenant.sender, to="+14155550100", test=True)
    assert len(listed_ids(tenant, test="false")) == 3
    assert listed_ids(tenant, test="true") == []
    assert listed_ids(tenant, mode="test", test="true") == [test_message.id]
    assert listed_ids(other_tenant, mode="test", test="true") == []


def test_created_after_is_inclusive(tenant, other_tenant, three):
    """?created_after=T1 includes the message made at exactly T1."""
    assert listed_ids(tenant, created_after="2026-03-10T12:01:00Z") == [three[2].id, three[1].id]


def test_created_before_is_exclusive(tenant, other_tenant, three):
    """?created_before=T1 excludes the message made at exactly T1."""
    assert listed_ids(tenant, created_before="2026-03-10T12:01:00Z") == [three[0].id]


def test_created_after_and_before_together(tenant, other_tenant, three):
    """[T1, T2) holds exactly the T1 message."""
    window = {"created_after": "2026-03-10T12:01:00Z", "created_before": "2026-03-10T12:02:00Z"}
    assert listed_ids(tenant, **window) == [three[1].id]


@pytest.mark.parametrize("params", [{"created_after": "yesterday"}, {"status": "lost"}])
def test_a_bad_filter_value_is_a_validation_error(tenant, other_tenant, three, params):
    """An unparseable filter answers 400 validation_error naming it."""
    response = tenant.client().get(URL, params)
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert set(response.json()["error"]["details"]) == set(params)


# --- List: pages --------------------------------------------------------------------------------


def test_cursor_pages_walk_newest_first(tenant, other_tenant):
    """?limit=2 over 5 messages: pages of 2, 2, 1 linked by next, and back by previous."""
    mine = [sent_at(tenant, T0 + timedelta(seconds=i)) for i in range(5)]
    sent_at(other_tenant, T0)
    client = tenant.client()
    first = client.get(URL, {"limit": 2}).json()
    assert first["previous"] is None and first["next"]
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert third["next"] is None and second["previous"]
    pages = [[m["id"] for m in page["results"]] for page in (first, second, third)]
    assert pages == [[mine[4].id, mine[3].id], [mine[2].id, mine[1].id], [mine[0].id]]
    back = client.get(second["previous"]).json()
    assert [m["id"] for m in back["results"]] == pages[0]


def test_pages_are_stable_when_messages_share_a_time(tenant, other_tenant):
    """Messages made in the same instant are each listed exactly once across pages."""
    with time_machine.travel(T0, tick=False):
        mine = {message_for(tenant.workspace, tenant.sender).id for _ in range(5)}
    client, seen, url = tenant.client(), [], URL + "?limit=2"
    while url:
        page = client.get(url).json()
        seen += [m["id"] for m in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(mine)


def bulk_messages(tenant, count: int) -> None:
    """`count` bare queued messages, inserted in one statement (for page-size tests)."""
    now = datetime.now(UTC)
    Message.objects.bulk_create(
        Message(
            workspace=tenant.workspace,
            status=Status.QUEUED,
            to_number="+14155550100",
            from_number=tenant.sender.number,
            body=f"bulk {i}",
            created_at=now - timedelta(seconds=i),
        )
        for i in range(count)
    )


def test_limit_defaults_to_50_and_goes_up_to_200(tenant, other_tenant):
    """No ?limit gives 50; ?limit=200 gives 200 (with a next page); ?limit=500 is 400 (§0)."""
    bulk_messages(tenant, 205)
    bulk_messages(other_tenant, 5)
    assert len(listed_ids(tenant)) == 50
    full = tenant.client().get(URL, {"limit": 200}).json()
    assert len(full["results"]) == 200 and full["next"]
    assert tenant.client().get(URL, {"limit": 500}).status_code == 400
    assert Message.objects.for_workspace(other_tenant.workspace).count() == 5


def test_another_workspaces_messages_never_appear(tenant, other_tenant):
    """With both workspaces busy, A's list and B's list are disjoint and complete."""
    bulk_messages(tenant, 3)
    bulk_messages(other_tenant, 4)
    mine, theirs = listed_ids(tenant), listed_ids(other_tenant)
    assert len(mine) == 3 and len(theirs) == 4 and not set(mine) & set(theirs)


def test_the_query_count_does_not_grow_with_the_page(tenant, other_tenant):
    """Listing 2 or 20 messages (each with its timeline) costs the same number of queries."""
    for _ in range(20):
        message_for(tenant.workspace, tenant.sender)
    message_for(other_tenant.workspace, other_tenant.sender)
    client = tenant.client()
    client.get(URL, {"limit": 1})  # the first use of a token writes last_used_at
    counts = {}
    for limit in (2, 20):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"limit": limit})
        assert len(response.json()["results"]) == limit
        assert all(len(m["timeline"]) >= 2 for m in response.json()["results"])
        counts[limit] = len(queries)
    assert counts[2] == counts[20]
