"""The batch is judged item by item but written in bulk: a handful of statements, not thousands."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Message

from ..support.factories import next_number

pytestmark = pytest.mark.django_db


def _batch(tenant, messages):
    return tenant.client().post("/api/v1/messages/batch", {"messages": messages}, format="json")


def test_a_repeat_inside_the_batch_is_a_duplicate(tenant, other_tenant):
    """The same recipient and body twice in one batch: the second is duplicate_message."""
    item = {"to": "+14155557200", "from": tenant.sender.number, "body": "same"}
    results = _batch(tenant, [item, item]).json()["results"]
    assert "message" in results[0]
    assert results[1]["error"]["code"] == "duplicate_message"
    assert not Message.objects.for_workspace(other_tenant.workspace).exists()


def test_a_batch_item_repeating_an_earlier_send_is_a_duplicate(tenant):
    """A fingerprint held by a lone send inside its window refuses the batch item."""
    item = {"to": "+14155557201", "from": tenant.sender.number, "body": "again"}
    assert tenant.client().post("/api/v1/messages", item, format="json").status_code == 202
    assert _batch(tenant, [item]).json()["results"][0]["error"]["code"] == "duplicate_message"


def test_batch_messages_carry_their_timeline(tenant):
    """Each accepted item has the same timeline a lone send gets."""
    item = {"to": next_number(), "from": tenant.sender.number, "body": "t"}
    message = _batch(tenant, [item]).json()["results"][0]["message"]
    stored = tenant.client().get(f"/api/v1/messages/{message['id']}").json()
    assert [e["event"] for e in stored["timeline"]] == [
        "api_request_received",
        "policy_passed",
        "queued",
    ]


def test_statement_count_does_not_grow_with_the_batch(tenant):
    """100 items cost about what 10 do: shared lookups, bulk inserts (SQLite chunks its inserts
    by its parameter limit, so a few more statements there; none more per item)."""
    counts = []
    for size in (1, 10, 100):  # the first creates the month's spend row
        items = [
            {"to": next_number(), "from": tenant.sender.number, "body": f"b{size} {i}"}
            for i in range(size)
        ]
        with CaptureQueriesContext(connection) as queries:
            response = _batch(tenant, items)
        assert all("message" in r for r in response.json()["results"])
        counts.append(len(queries))
    assert counts[2] - counts[1] <= (0 if connection.vendor == "postgresql" else 5), counts
