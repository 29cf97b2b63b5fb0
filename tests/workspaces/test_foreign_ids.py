"""Ids and numbers named in request bodies are resolved inside the caller's workspace (DESIGN,
tenancy rule 2): another workspace's id is refused exactly as an id of nothing — same status,
same code, same message — and nothing is stored, so no answer tells that the id exists."""

import json

import pytest

from campaigns.models import Campaign
from compliance.models import Consent, Suppression
from messaging.models import Message

from ..support.factories import next_number

pytestmark = pytest.mark.django_db

NOBODYS = {
    "cmp": "cmp_00000000000000000000000000",
    "tpl": "tpl_00000000000000000000000000",
    "ctc": "ctc_00000000000000000000000000",
    "whe": "whe_00000000000000000000000000",
}


def _same(foreign, nothing, foreign_value: str, nothing_value: str) -> dict:
    """Both answers, with the id itself masked, are identical; returns the error."""
    assert foreign.status_code == nothing.status_code, (foreign.content, nothing.content)
    masked = [
        json.dumps(r.json()).replace(v, "<id>")
        for r, v in ((foreign, foreign_value), (nothing, nothing_value))
    ]
    assert masked[0] == masked[1]
    return foreign.json().get("error", {})


def _campaign(tenant, mode="live") -> str:
    body = {"name": "Spring", "body": "Hi", "audience": {"all": True}, "from": tenant.sender.number}
    response = tenant.client("owner", mode).post("/api/v1/campaigns", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _template(tenant) -> str:
    response = tenant.client().post(
        "/api/v1/templates", {"name": "T", "body": "Hi {{first_name|there}}"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- compliance: suppressions and consents --------------------------------------------------------


def _suppress(tenant, campaign):
    body = {"phone": next_number(), "scope": "campaign", "campaign": campaign}
    return tenant.client().post("/api/v1/suppressions", body, format="json")


def test_suppression_campaign_of_another_workspace(tenant, other_tenant):
    """A campaign suppression naming B's campaign: 400 as for a campaign of nobody."""
    theirs = _campaign(other_tenant)
    error = _same(
        _suppress(tenant, theirs), _suppress(tenant, NOBODYS["cmp"]), theirs, NOBODYS["cmp"]
    )
    assert error["code"] == "validation_error" and "campaign" in error["details"]
    assert not Suppression.objects.filter(campaign_id=theirs).exists()
    mine = _campaign(tenant)
    assert _suppress(tenant, mine).status_code == 201


def test_suppression_campaign_of_the_other_mode(tenant):
    """A live token cannot name a test campaign it cannot see, nor a test token a live one."""
    test_campaign, live_campaign = _campaign(tenant, "test"), _campaign(tenant)
    error = _same(
        _suppress(tenant, test_campaign),
        _suppress(tenant, NOBODYS["cmp"]),
        test_campaign,
        NOBODYS["cmp"],
    )
    assert error["code"] == "validation_error"
    body = {"phone": next_number(), "scope": "campaign", "campaign": live_campaign}
    refused = tenant.client("owner", "test").post("/api/v1/suppressions", body, format="json")
    assert refused.status_code == 400


@pytest.mark.parametrize("scope", ["workspace", "campaign"])
def test_suppression_with_a_foreign_campaign_whatever_the_scope(tenant, other_tenant, scope):
    """Even with scope workspace, a named foreign campaign is refused like a missing one."""
    theirs = _campaign(other_tenant)

    def post(campaign):
        body = {"phone": "+14155550190", "scope": scope, "campaign": campaign}
        return tenant.client().post("/api/v1/suppressions", body, format="json")

    _same(post(theirs), post(NOBODYS["cmp"]), theirs, NOBODYS["cmp"])
    assert not Suppression.objects.for_workspace(tenant.workspace).exists()


def _consent(tenant, scope):
    body = {"phone": next_number(), "method": "web_form", "disclosure": "Offers", "scope": scope}
    return tenant.client().post("/api/v1/consents", body, format="json")


@pytest.mark.parametrize(
    "garbage", [NOBODYS["cmp"], "cmp_x", "anything", "tpl_00000000000000000000000000"]
)
def test_consent_scope_of_another_workspace(tenant, other_tenant, garbage):
    """A consent scoped to B's campaign: 400 as for any scope that is no campaign of ours."""
    theirs = _campaign(other_tenant)
    error = _same(_consent(tenant, theirs), _consent(tenant, garbage), theirs, garbage)
    assert error["code"] == "validation_error" and "scope" in error["details"]
    assert not Consent.objects.filter(scope=theirs).exists()
    mine = _campaign(tenant)
    assert _consent(tenant, mine).status_code == 201
    assert _consent(tenant, "workspace").status_code == 201


# --- campaigns: template and from -----------------------------------------------------------------


def _draft(tenant, **fields):
    body = {"name": "S", "body": "Hi", "audience": {"all": True}, "from": tenant.sender.number}
    body.update(fields)
    if "template" in fields:
        body.pop("body")
    return tenant.client().post("/api/v1/campaigns", body, format="json")


def test_campaign_template_of_another_workspace(tenant, other_tenant):
    theirs = _template(other_tenant)
    error = _same(
        _draft(tenant, template=theirs),
        _draft(tenant, template=NOBODYS["tpl"]),
        theirs,
        NOBODYS["tpl"],
    )
    assert error["code"] == "validation_error" and "template" in error["details"]
    assert not Campaign.objects.filter(template_id=theirs).exists()
    assert _draft(tenant, template=_template(tenant)).status_code == 201


def test_campaign_from_a_sender_of_another_workspace(tenant, other_tenant):
    """B's number as `from` is refused at creation as a number nobody has."""
    theirs, nobodys = other_tenant.sender.number, next_number()
    error = _same(
        _draft(tenant, **{"from": theirs}), _draft(tenant, **{"from": nobodys}), theirs, nobodys
    )
    assert error["code"] == "validation_error" and "from" in error["details"]
    assert not Campaign.objects.for_workspace(tenant.workspace).exists()


def test_campaign_patch_with_foreign_template_or_sender(tenant, other_tenant):
    """A draft cannot be changed to name B's template or number either; it stays as it was."""
    campaign = _campaign(tenant)
    url = f"/api/v1/campaigns/{campaign}"
    theirs_tpl, theirs_from, nobodys_from = (
        _template(other_tenant),
        other_tenant.sender.number,
        next_number(),
    )
    patch = tenant.client().patch
    for field, theirs, nobodys in [
        ("template", theirs_tpl, NOBODYS["tpl"]),
        ("from", theirs_from, nobodys_from),
    ]:
        foreign = patch(url, {field: theirs}, format="json")
        _same(foreign, patch(url, {field: nobodys}, format="json"), theirs, nobodys)
        assert foreign.status_code == 400
    stored = Campaign.objects.get(pk=campaign)
    assert stored.template_id is None and stored.from_number == tenant.sender.number


# --- template preview, messages, filters ----------------------------------------------------------


def test_template_preview_contact_of_another_workspace(tenant, other_tenant):
    contact = other_tenant.client().post(
        "/api/v1/contacts", {"phone": "+14155550191", "first_name": "Bea"}, format="json"
    )
    theirs = contact.json()["id"]
    url = f"/api/v1/templates/{_template(tenant)}/preview"
    foreign = tenant.client().post(url, {"contact": theirs}, format="json")
    nothing = tenant.client().post(url, {"contact": NOBODYS["ctc"]}, format="json")
    _same(foreign, nothing, theirs, NOBODYS["ctc"])
    assert "Bea" not in foreign.content.decode()
    assert foreign.status_code in (400, 404)


def test_message_from_a_sender_of_another_workspace(tenant, other_tenant):
    """Sending from B's number is refused as sending from a number nobody has."""
    theirs, nobodys = other_tenant.sender.number, next_number()

    def send(number):
        body = {"to": "+14155550192", "from": number, "body": "hello"}
        return tenant.client().post("/api/v1/messages", body, format="json")

    _same(send(theirs), send(nobodys), theirs, nobodys)
    assert not Message.objects.filter(from_number=theirs).exists()


def test_default_sender_of_another_workspace(tenant, other_tenant):
    theirs, nobodys = other_tenant.sender.number, next_number()
    patch = tenant.client().patch
    _same(
        patch("/api/v1/workspace", {"default_sender": theirs}, format="json"),
        patch("/api/v1/workspace", {"default_sender": nobodys}, format="json"),
        theirs,
        nobodys,
    )


def test_filters_naming_another_workspaces_objects(tenant, other_tenant):
    """A list filtered by B's endpoint or campaign answers as for an id of nothing."""
    endpoint = (
        other_tenant.client()
        .post(
            "/api/v1/webhook-endpoints",
            {"url": "http://127.0.0.1:9/x", "events": ["*"]},
            format="json",
        )
        .json()["id"]
    )
    campaign = _campaign(other_tenant)
    for path, value, nothing in [
        ("/api/v1/webhook-deliveries?endpoint=", endpoint, NOBODYS["whe"]),
        ("/api/v1/messages?campaign=", campaign, NOBODYS["cmp"]),
        ("/api/v1/suppressions?campaign=", campaign, NOBODYS["cmp"]),
    ]:
        foreign = tenant.client().get(path + value)
        _same(foreign, tenant.client().get(path + nothing), value, nothing)
        if foreign.status_code == 200:
            assert foreign.json()["results"] == []
