"""Inbound SMS: routed to the workspace owning the number, listed with ?direction=inbound."""

import pytest

from messaging.models import Message

pytestmark = pytest.mark.django_db


def _post_inbound(client, **payload):
    return client.post("/hooks/simulator/inbound", payload, content_type="application/json")


def test_simulator_inbound_lands_in_the_owning_workspace(client, tenant, other_tenant):
    """The sender's workspace gets a received message; the other workspace sees nothing."""
    response = _post_inbound(
        client, **{"from": "+14155550123", "to": tenant.sender.number, "body": "hello there"}
    )
    assert response.status_code == 200
    listed = tenant.client().get("/api/v1/messages?direction=inbound").json()["results"]
    assert [(m["from"], m["to"], m["status"], m["direction"]) for m in listed] == [
        ("+14155550123", tenant.sender.number, "received", "inbound")
    ]
    assert other_tenant.client().get("/api/v1/messages?direction=inbound").json()["results"] == []
    assert listed[0]["timeline"][0]["event"] == "received"


def test_inbound_to_an_unknown_number_is_refused_and_stores_nothing(client, tenant):
    """No workspace owns the number: 404 envelope, no row."""
    response = _post_inbound(client, **{"from": "+14155550123", "to": "+14155559999", "body": "hi"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert not Message.objects.exists()


def test_inbound_needs_every_field(client, tenant):
    """A missing field is a validation_error naming it."""
    response = _post_inbound(client, **{"to": tenant.sender.number})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"from", "body"}


def test_simulator_inbound_is_off_when_the_simulator_is(client, tenant, settings):
    """SIMULATOR_ENABLED=false closes the hook."""
    settings.SIMULATOR_ENABLED = False
    response = _post_inbound(
        client, **{"from": "+14155550123", "to": tenant.sender.number, "body": "hi"}
    )
    assert response.status_code == 404
