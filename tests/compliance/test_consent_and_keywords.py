"""Consent, suppressions and inbound keywords, through the API and the inbound hook."""

from datetime import UTC, datetime

import pytest
import time_machine

from compliance.models import Consent, Suppression
from messaging.actions.dispatch import message_claim, message_dispatch
from messaging.actions.sweeps import sweep_due
from messaging.models import Message
from messaging.providers.simulator.models import SimulatorSubmission
from workspaces.models import AuditEvent

from ..support.factories import message_for

pytestmark = pytest.mark.django_db

HANDSET = "+14155550177"
# A weekday afternoon in California: inside every quiet-hours window for the test numbers.
IN_WINDOW = datetime(2026, 11, 18, 21, 0, tzinfo=UTC)


def _grant(tenant, phone=HANDSET, **extra):
    return tenant.client().post(
        "/api/v1/consents",
        {"phone": phone, "method": "web_form", "disclosure": "Weekly offers, 4/mo.", **extra},
        format="json",
    )


def _send(tenant, to=HANDSET, category="marketing", body="Sale today"):
    return tenant.client().post(
        "/api/v1/messages",
        {"to": to, "from": tenant.sender.number, "body": body, "category": category},
        format="json",
    )


def _inbound(client, tenant, body, handset=HANDSET):
    return client.post(
        "/hooks/simulator/inbound",
        {"from": handset, "to": tenant.sender.number, "body": body},
        content_type="application/json",
    )


@time_machine.travel(IN_WINDOW, tick=False)
def test_marketing_needs_consent_and_names_it_on_the_timeline(tenant, other_tenant):
    """No consent → 422 consent_required; a grant allows it, and the timeline names the grant."""
    assert _send(tenant).json()["error"]["code"] == "consent_required"
    consent_id = _grant(tenant).json()["id"]
    response = _send(tenant)
    assert response.status_code == 202
    passed = next(e for e in response.json()["timeline"] if e["event"] == "policy_passed")
    assert passed["detail"]["consent"]["id"] == consent_id
    assert _send(other_tenant).json()["error"]["code"] == "consent_required"


@time_machine.travel(IN_WINDOW, tick=False)
def test_the_latest_consent_record_decides(tenant):
    """Grant, then revoke: refused again; the history keeps both records."""
    _grant(tenant)
    revoked = tenant.client().post(
        "/api/v1/consents",
        {"phone": HANDSET, "action": "revoke", "method": "verbal"},
        format="json",
    )
    assert revoked.status_code == 201
    assert _send(tenant).json()["error"]["code"] == "consent_required"
    history = tenant.client().get(f"/api/v1/consents?phone={HANDSET}").json()["results"]
    assert [c["action"] for c in history] == ["revoke", "grant"]


def test_a_grant_must_record_its_disclosure(tenant):
    """Without what the person was told, a grant is refused."""
    response = tenant.client().post(
        "/api/v1/consents", {"phone": HANDSET, "method": "paper"}, format="json"
    )
    assert response.status_code == 400 and "disclosure" in response.json()["error"]["details"]


def test_transactional_sends_need_no_consent(tenant):
    """Consent is a marketing rule only."""
    assert _send(tenant, category="transactional").status_code == 202


def test_suppression_api_create_duplicate_and_remove(tenant, other_tenant):
    """Create 201; an active duplicate 200 with the same id; removal needs a reason; twice → 409."""
    client = tenant.client()
    first = client.post(
        "/api/v1/suppressions", {"phone": "(415) 555-0178", "reason": "asked"}, format="json"
    )
    again = client.post("/api/v1/suppressions", {"phone": "+14155550178"}, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and first.json()["phone"] == "+14155550178"
    url = f"/api/v1/suppressions/{first.json()['id']}"
    assert client.delete(url).status_code == 400
    removed = client.delete(url + "?reason=customer%20called")
    assert removed.status_code == 200 and removed.json()["active"] is False
    assert removed.json()["removal_reason"] == "customer called"
    assert client.delete(url, {"reason": "again"}, format="json").status_code == 409
    assert other_tenant.client().get(url).status_code == 404


def test_only_owners_and_admins_remove_suppressions(tenant):
    """A campaign manager may add a suppression but not lift it; a viewer may do neither."""
    created = tenant.client("campaign_manager").post(
        "/api/v1/suppressions", {"phone": HANDSET}, format="json"
    )
    assert created.status_code == 201
    url = f"/api/v1/suppressions/{created.json()['id']}?reason=x"
    assert tenant.client("campaign_manager").delete(url).status_code == 403
    assert (
        tenant.client("viewer")
        .post("/api/v1/suppressions", {"phone": HANDSET}, format="json")
        .status_code
        == 403
    )
    assert tenant.client("admin").delete(url).status_code == 200


def test_suppression_list_filters(tenant):
    """?phone= matches any format; ?active= and ?source= narrow the list."""
    client = tenant.client()
    client.post("/api/v1/suppressions", {"phone": HANDSET}, format="json")
    client.post("/api/v1/suppressions", {"phone": "+14155550179"}, format="json")
    assert len(client.get("/api/v1/suppressions?phone=4155550177").json()["results"]) == 1
    assert len(client.get("/api/v1/suppressions?source=api&active=true").json()["results"]) == 2
    assert client.get("/api/v1/suppressions?source=keyword").json()["results"] == []


@pytest.mark.parametrize("body", ["STOP", " stop ", "Stop", "unsubscribe", "OptOut"])
def test_stop_suppresses_revokes_and_replies_once(client, tenant, body):
    """The STOP family: suppression (keyword), consent revoked, exactly one reply queued."""
    assert _inbound(client, tenant, body).status_code == 200
    assert (
        Suppression.objects.for_workspace(tenant.workspace).get(phone=HANDSET).source == "keyword"
    )
    latest = (
        Consent.objects.for_workspace(tenant.workspace).filter(phone=HANDSET).latest("created_at")
    )
    assert latest.action == "revoke" and latest.method == "keyword"
    replies = Message.objects.for_workspace(tenant.workspace).filter(system_reply=True)
    assert replies.count() == 1 and replies.get().to_number == HANDSET
    assert "unsubscribed" in replies.get().body
    assert _send(tenant, category="transactional").json()["error"]["code"] == "workspace_suppressed"


def test_the_stop_reply_goes_out_although_the_number_is_suppressed(client, tenant):
    """The reply is claimed and submitted despite the suppression it confirms."""
    _inbound(client, tenant, "STOP")
    reply = Message.objects.for_workspace(tenant.workspace).get(system_reply=True)
    message_dispatch(message_id=reply.id)
    reply.refresh_from_db()
    assert reply.status == "sent"
    assert SimulatorSubmission.objects.filter(message_id=reply.id, accepted=True).exists()


def test_a_message_queued_before_the_stop_is_not_sent(client, tenant):
    """Accepted before STOP, claimed after it: blocked at the claim."""
    queued = message_for(tenant.workspace, tenant.sender, to=HANDSET)
    _inbound(client, tenant, "STOP")
    message_dispatch(message_id=queued.id)
    queued.refresh_from_db()
    assert queued.status == "failed" and queued.error["code"] == "workspace_suppressed"
    assert not SimulatorSubmission.objects.filter(message_id=queued.id).exists()


@time_machine.travel(IN_WINDOW, tick=False)
def test_start_lifts_the_stop_audited_and_marketing_may_resume(client, tenant):
    """START removes the keyword suppression (audited) and grants consent again."""
    _inbound(client, tenant, "STOP")
    _inbound(client, tenant, "start")
    suppression = Suppression.objects.for_workspace(tenant.workspace).get(phone=HANDSET)
    assert suppression.active is False and "START" in suppression.removal_reason
    assert (
        AuditEvent.objects.for_workspace(tenant.workspace)
        .filter(action="suppression.removed", target_id=suppression.id)
        .exists()
    )
    assert _send(tenant).status_code == 202
    assert Message.objects.for_workspace(tenant.workspace).filter(system_reply=True).count() == 2


def test_help_answers_with_the_help_text_and_changes_nothing(client, tenant):
    """HELP/INFO: one reply with the workspace's help text; no suppression."""
    tenant.workspace.help_text = "Acme alerts. Msg & data rates may apply. STOP to end. help@acme"
    tenant.workspace.save()
    _inbound(client, tenant, "info")
    reply = Message.objects.for_workspace(tenant.workspace).get(system_reply=True)
    assert reply.body == tenant.workspace.help_text
    assert not Suppression.objects.for_workspace(tenant.workspace).exists()


def test_a_sentence_containing_stop_is_not_a_keyword(client, tenant):
    """Only the bare keyword counts."""
    _inbound(client, tenant, "please stop texting me")
    assert not Suppression.objects.for_workspace(tenant.workspace).exists()
    assert not Message.objects.for_workspace(tenant.workspace).filter(system_reply=True).exists()


# Sunday 10:00 in Dallas (CST, UTC-6): Texas allows marketing on Sundays from 12:00 only.
TEXAS_SUNDAY_10AM = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def test_marketing_to_texas_on_sunday_morning_waits_until_noon(tenant):
    """Held with a held_quiet_hours event naming the rule; released at 12:00 local."""
    texas = "+12145550123"
    with time_machine.travel(TEXAS_SUNDAY_10AM, tick=False):
        _grant(tenant, phone=texas)
        response = _send(tenant, to=texas)
        assert response.status_code == 202 and response.json()["status"] == "queued"
        message = Message.objects.get(pk=response.json()["id"])
        held = message.events.get(event="held_quiet_hours").detail
        assert held["until"] == "2026-11-22T18:00:00.000000Z" and "Texas" in held["rule"]
        assert message_claim(message_id=message.id) is None
        assert sweep_due() == 0
    with time_machine.travel(datetime(2026, 11, 22, 18, 0, 1, tzinfo=UTC), tick=False):
        assert sweep_due() == 1
        assert message_claim(message_id=message.id).status == "sending"


def test_campaign_manager_may_record_consent_but_a_viewer_may_not(tenant):
    """consents:write follows the role."""
    assert tenant.client("viewer").post("/api/v1/consents", {}, format="json").status_code == 403
    consent = {"phone": HANDSET, "method": "paper", "disclosure": "Signed form 17"}
    created = tenant.client("campaign_manager").post("/api/v1/consents", consent, format="json")
    assert created.status_code == 201
