"""GET/PATCH /api/v1/workspace and the senders API."""

import pytest

from workspaces.models import Sender

from ..support.factories import next_number

pytestmark = pytest.mark.django_db

WORKSPACE_FIELDS = {
    "id",
    "slug",
    "name",
    "currency",
    "test_mode",
    "spend_limit",
    "month_to_date_spend",
    "allowed_countries",
    "verified_recipients",
    "duplicate_window_seconds",
    "rate_limit_per_second",
    "default_sender",
    "default_country",
    "help_text",
    "blocked_terms",
    "provider",
    "require_two_factor",
    "timezone",
}


def test_workspace_has_every_contract_field(tenant):
    """Exactly CONTRACT §2's fields, with the defaults it fixes."""
    body = tenant.client().get("/api/v1/workspace").json()
    assert set(body) == WORKSPACE_FIELDS
    assert body["currency"] == "USD" and body["month_to_date_spend"] == "0.0000"
    assert body["allowed_countries"] == ["AU", "CA", "GB", "US"]
    assert body["rate_limit_per_second"] == 50 and body["duplicate_window_seconds"] == 60


def test_patch_changes_settings_and_ignores_read_only_fields(tenant):
    """Writable fields change; id, currency, provider and spend stay as they were."""
    response = tenant.client().patch(
        "/api/v1/workspace",
        {
            "spend_limit": "25.50",
            "allowed_countries": ["us", "FR"],
            "provider": "twilio",
            "currency": "EUR",
            "verified_recipients": ["(415) 555-0100"],
            "blocked_terms": ["Loan "],
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["spend_limit"] == "25.5000" and body["allowed_countries"] == ["FR", "US"]
    assert body["provider"] == "" and body["currency"] == "USD"
    assert body["verified_recipients"] == ["+14155550100"] and body["blocked_terms"] == ["loan"]


@pytest.mark.parametrize(
    "change",
    [
        {"rate_limit_per_second": 501},
        {"rate_limit_per_second": 0},
        {"allowed_countries": ["ZZ"]},
        {"default_sender": "+14155550999"},
        {"spend_limit": "-1"},
        {"verified_recipients": ["12"]},
    ],
)
def test_patch_refuses_bad_values(tenant, change):
    """Bad values answer 400 validation_error naming the field, and change nothing."""
    response = tenant.client().patch("/api/v1/workspace", change, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(change)


def test_default_sender_must_belong_to_this_workspace(tenant, other_tenant):
    """Another workspace's number is not a valid default sender."""
    response = tenant.client().patch(
        "/api/v1/workspace", {"default_sender": other_tenant.sender.number}, format="json"
    )
    assert response.status_code == 400


def test_sender_create_list_and_remove(tenant):
    """A sender is created with its kind's rate, listed, then removed (200 with the sender)."""
    client = tenant.client()
    number = next_number()
    created = client.post("/api/v1/senders", {"number": number, "kind": "toll_free"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["mps"] == 3 and body["country"] == "US" and body["id"].startswith("snd_")
    assert body["id"] in {s["id"] for s in client.get("/api/v1/senders").json()["results"]}
    removed = client.delete(f"/api/v1/senders/{body['id']}")
    assert removed.status_code == 200 and removed.json()["number"] == number
    assert client.get(f"/api/v1/senders/{body['id']}").status_code == 404


def test_a_number_belongs_to_one_workspace(tenant, other_tenant):
    """Registering another workspace's number answers 409 sender_in_use."""
    response = tenant.client().post(
        "/api/v1/senders",
        {"number": other_tenant.sender.number, "kind": "long_code"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sender_in_use"


def test_a_removed_number_is_free_again(tenant, other_tenant):
    """After B removes its number, A may register it."""
    number = other_tenant.sender.number
    other_tenant.client().delete(f"/api/v1/senders/{other_tenant.sender.id}")
    response = tenant.client().post(
        "/api/v1/senders", {"number": number, "kind": "long_code"}, format="json"
    )
    assert response.status_code == 201


def test_mps_may_only_lower_the_kind_rate(tenant):
    """A long code at 2/s is refused; a short code at 50/s is fine."""
    client = tenant.client()
    too_fast = client.post(
        "/api/v1/senders", {"number": next_number(), "kind": "long_code", "mps": 2}, format="json"
    )
    assert too_fast.status_code == 400 and "mps" in too_fast.json()["error"]["details"]
    short = client.post(
        "/api/v1/senders",
        {"number": "24680", "kind": "short_code", "country": "US", "mps": 50},
        format="json",
    )
    assert short.status_code == 201 and short.json()["mps"] == 50


def test_removing_the_default_sender_clears_the_default(tenant):
    """The workspace never points at a retired number."""
    client = tenant.client()
    client.patch("/api/v1/workspace", {"default_sender": tenant.sender.number}, format="json")
    client.delete(f"/api/v1/senders/{tenant.sender.id}")
    assert client.get("/api/v1/workspace").json()["default_sender"] == ""
    assert Sender.objects.get(pk=tenant.sender.pk).removed_at is not None


def test_sender_kind_defaults_to_long_code(tenant):
    """Without `kind` a sender is a long code at 1 message per second."""
    response = tenant.client().post("/api/v1/senders", {"number": next_number()}, format="json")
    assert response.status_code == 201
    assert response.json()["kind"] == "long_code" and response.json()["mps"] == 1
