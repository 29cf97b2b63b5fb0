"""Contacts (E.164, unique per workspace) and templates (safe merge fields, preview)."""

import pytest

from campaigns.rendering import MissingMergeField, render, unknown_fields

pytestmark = pytest.mark.django_db


def _contact(tenant, **fields):
    return tenant.client().post(
        "/api/v1/contacts", {"phone": "(415) 555-0150", **fields}, format="json"
    )


def test_contact_is_normalised_and_unique_per_workspace(tenant, other_tenant):
    """A national number becomes E.164; the same number twice is refused; B may hold it too."""
    created = _contact(
        tenant, first_name="Ada", tags=["vip", " vip", "beta"], timezone="America/Chicago"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["phone"] == "+14155550150" and body["tags"] == ["beta", "vip"]
    assert body["id"].startswith("ctc_")
    again = _contact(tenant)
    assert again.status_code == 400 and "phone" in again.json()["error"]["details"]
    assert _contact(other_tenant).status_code == 201
    assert other_tenant.client().get(f"/api/v1/contacts/{body['id']}").status_code == 404


@pytest.mark.parametrize("bad", [{"phone": "12"}, {"timezone": "Mars/Base"}])
def test_contact_validation(tenant, bad):
    """A bad number or time zone names its field."""
    response = _contact(tenant, **bad)
    assert response.status_code == 400 and set(response.json()["error"]["details"]) == set(bad)


def test_contact_filters_update_and_delete(tenant):
    """?tag= and ?phone= find it; PATCH changes it; DELETE answers 200 with it."""
    contact_id = _contact(tenant, tags=["vip"]).json()["id"]
    _contact(tenant, phone="+14155550151")
    client = tenant.client()
    assert [c["id"] for c in client.get("/api/v1/contacts?tag=vip").json()["results"]] == [
        contact_id
    ]
    assert len(client.get("/api/v1/contacts?phone=4155550150").json()["results"]) == 1
    patched = client.patch(f"/api/v1/contacts/{contact_id}", {"last_name": "L"}, format="json")
    assert patched.json()["last_name"] == "L"
    deleted = client.delete(f"/api/v1/contacts/{contact_id}")
    assert deleted.status_code == 200 and deleted.json()["id"] == contact_id
    assert client.get(f"/api/v1/contacts/{contact_id}").status_code == 404


def test_contacts_need_their_scopes(tenant):
    """An agent may not add contacts; a viewer may read them."""
    assert (
        tenant.client("agent")
        .post("/api/v1/contacts", {"phone": "+14155550152"}, format="json")
        .status_code
        == 403
    )
    assert tenant.client("viewer").get("/api/v1/contacts").status_code == 200


def test_rendering_is_plain_substitution():
    """Fields and defaults fill in; nothing else is evaluated; a missing field without default
    is reported by name."""
    values = {"first_name": "Ada", "phone": "+1415", "attributes": {"plan": "pro"}}
    assert render("Hi {{first_name}} ({{ attributes.plan }})", values) == "Hi Ada (pro)"
    assert render("Hi {{last_name|friend}}", values) == "Hi friend"
    with pytest.raises(MissingMergeField) as missing:
        render("Hi {{last_name}}", values)
    assert missing.value.field == "last_name"
    assert unknown_fields("{{first_name}} {{user.password}} {{__import__}}") == [
        "__import__",
        "user.password",
    ]


def test_template_refuses_unknown_fields_and_previews(tenant, other_tenant):
    """Unknown merge fields → 400 at save; preview renders, counts and prices for a contact."""
    client = tenant.client()
    bad = client.post("/api/v1/templates", {"name": "x", "body": "Hi {{nickname}}"}, format="json")
    assert bad.status_code == 400 and "body" in bad.json()["error"]["details"]
    template = client.post(
        "/api/v1/templates",
        {"name": "promo", "body": "Hi {{first_name|there}}, 20% off"},
        format="json",
    ).json()
    contact_id = _contact(tenant, first_name="Ada").json()["id"]
    preview = client.post(
        f"/api/v1/templates/{template['id']}/preview", {"contact": contact_id}, format="json"
    ).json()
    assert preview == {
        "body": "Hi Ada, 20% off",
        "encoding": "GSM-7",
        "segments": 1,
        "price": "0.0079",
    }
    by_phone = client.post(
        f"/api/v1/templates/{template['id']}/preview", {"phone": "+14155550199"}, format="json"
    ).json()
    assert by_phone["body"] == "Hi there, 20% off"
    foreign = other_tenant.client().post(
        f"/api/v1/templates/{template['id']}/preview", {"phone": "+14155550199"}, format="json"
    )
    assert foreign.status_code == 404


def test_preview_reports_a_missing_merge_field(tenant):
    """A field without default the recipient lacks: 422 missing_merge_field naming it."""
    client = tenant.client()
    template = client.post(
        "/api/v1/templates", {"name": "n", "body": "Dear {{last_name}}"}, format="json"
    ).json()
    response = client.post(
        f"/api/v1/templates/{template['id']}/preview", {"phone": "+14155550199"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"field": "last_name"}


def test_a_contacts_time_zone_decides_its_quiet_hours(tenant):
    """A New York number whose contact lives in Los Angeles: 21:30 ET is 18:30 there, not held."""
    import time_machine

    from compliance.services import consent_record
    from messaging.models import Message
    from workspaces.audit import Actor

    new_yorker = "+12125550150"
    consent_record(
        workspace_id=tenant.workspace.pk,
        phone=new_yorker,
        method="api",
        actor=Actor.system(),
        disclosure="offers",
    )
    send = {"to": new_yorker, "from": tenant.sender.number, "category": "marketing"}
    with time_machine.travel("2026-11-18T02:30:00Z", tick=False):  # 21:30 in New York
        held = tenant.client().post("/api/v1/messages", {**send, "body": "a"}, format="json")
        _contact(tenant, phone=new_yorker, timezone="America/Los_Angeles")
        free = tenant.client().post("/api/v1/messages", {**send, "body": "b"}, format="json")
    was_held = Message.objects.get(pk=held.json()["id"]).events.filter(event="held_quiet_hours")
    not_held = Message.objects.get(pk=free.json()["id"]).events.filter(event="held_quiet_hours")
    assert held.status_code == 202 and was_held.exists()
    assert held.json()["timeline"][-1]["event"] == "held_quiet_hours"
    assert free.status_code == 202 and not not_held.exists()
