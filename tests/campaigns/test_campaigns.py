"""Campaigns: drafts, the dry run, launch (fan-out, skips, reservation), pause, resume, stop."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns.models import Campaign, CampaignSkip, Contact
from campaigns.resources import campaign_stats
from compliance.models import Suppression
from compliance.services import suppression_create
from messaging.actions.inbound import inbound_receive
from messaging.models import CampaignCounter, Message, MessageEvent, Status
from messaging.providers.base import InboundSMS
from tests.support.campaign_stats import identity_holds
from tests.support.factories import contacts_for, next_number, short_code_for
from workspaces import clock
from workspaces.audit import Actor
from workspaces.models import SpendMonth, Workspace

pytestmark = pytest.mark.django_db


def audience(tenant, count: int, *, tags=("vip",), consent=True, **fields) -> list[Contact]:
    """`count` contacts (with marketing consent unless told otherwise)."""
    phones = [next_number() for _ in range(count)]
    return contacts_for(tenant.workspace, phones, tags=tags, consent=consent, **fields)


def draft(tenant, **fields):
    """A draft campaign through the API (body with a merge field, tag audience)."""
    payload = {
        "name": "Spring sale",
        "body": "Hi {{first_name|there}}, 20% off today.",
        "audience": {"tags": ["vip"]},
        "from": tenant.sender.number,
        **fields,
    }
    response = tenant.client().post("/api/v1/campaigns", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def act(tenant, campaign_id: str, verb: str):
    return tenant.client().post(f"/api/v1/campaigns/{campaign_id}/{verb}", format="json")


def assert_identity(stats: dict) -> None:
    """recipients = sum of skipped + every message status."""
    assert identity_holds(stats), stats


def test_draft_is_created_edited_and_validated(tenant):
    """A draft answers with zeroed stats; bad merge fields, both body and template, no audience
    are refused; a draft can be edited, a launched campaign cannot."""
    created = draft(tenant)
    assert created["status"] == "draft" and created["id"].startswith("cmp_")
    assert created["stats"]["recipients"] == 0 and created["stats"]["cost"] == "0.0000"
    client = tenant.client()
    bad = client.post(
        "/api/v1/campaigns",
        {
            "name": "x",
            "body": "Hi {{nickname}}",
            "audience": {"all": True},
            "from": tenant.sender.number,
        },
        format="json",
    )
    assert bad.status_code == 400 and "body" in bad.json()["error"]["details"]
    no_audience = client.post(
        "/api/v1/campaigns",
        {"name": "x", "body": "Hi", "audience": {}, "from": tenant.sender.number},
        format="json",
    )
    assert no_audience.status_code == 400
    patched = client.patch(f"/api/v1/campaigns/{created['id']}", {"name": "Summer"}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "Summer"
    audience(tenant, 1)
    assert act(tenant, created["id"], "launch").status_code == 200
    late = client.patch(f"/api/v1/campaigns/{created['id']}", {"name": "x"}, format="json")
    assert late.status_code == 409 and late.json()["error"]["code"] == "invalid_state"


def test_dry_run_counts_and_skips_without_writing(tenant, other_tenant):
    """The dry run names every skip code a live campaign's fan-out produces (suppressed for the
    workspace or for this campaign, no consent, a missing merge field, blocked content, too long,
    an invalid number, a region not allowed, the sender's own number) and the cost, and writes no
    message; the launch then records the same skips."""
    code = {"code": "A1"}
    audience(tenant, 5, attributes=code)
    audience(tenant, 2, consent=False, attributes=code)
    suppressed = audience(tenant, 1, attributes=code)[0]
    suppression_create(
        workspace_id=tenant.workspace.pk, phone=suppressed.phone, source="api", actor=Actor.system()
    )
    opted_out = audience(tenant, 1, attributes=code)[0]
    audience(tenant, 3, tags=("other",), attributes=code)  # outside the audience
    audience(tenant, 1)  # no attributes.code
    audience(tenant, 1, attributes={"code": "cannabis"})  # a platform-blocked term
    audience(tenant, 1, attributes={"code": "x" * 1600})  # 11 GSM-7 segments, over the 10
    # Numbers the contacts API refuses, as rows written before that check (bulk, no validation).
    contacts_for(tenant.workspace, ["+15555550100"], tags=("vip",), attributes=code)
    contacts_for(tenant.workspace, ["+33612345678"], tags=("vip",), attributes=code)  # FR
    contacts_for(tenant.workspace, [tenant.sender.number], tags=("vip",), attributes=code)
    audience(other_tenant, 4, attributes=code)  # B's contacts count nowhere in A's campaign
    campaign = draft(tenant, body="Hi {{first_name|there}}, your code: {{attributes.code}}")
    suppression_create(
        workspace_id=tenant.workspace.pk,
        phone=opted_out.phone,
        source="api",
        scope=Suppression.CAMPAIGN,
        campaign_id=campaign["id"],
        actor=Actor.system(),
    )
    response = act(tenant, campaign["id"], "dry-run")
    assert response.status_code == 200
    skipped = {
        "consent_required": 2,
        "workspace_suppressed": 1,
        "campaign_suppressed": 1,
        "missing_merge_field": 1,
        "content_blocked": 1,
        "message_too_long": 1,
        "invalid_number": 1,
        "unsupported_region": 1,
        "same_to_from": 1,
    }
    assert response.json() == {
        "recipients": 15,
        "messages": 5,
        "segments": 5,
        "cost": "0.0395",
        "skipped": skipped,
    }
    assert not Message.objects.filter(campaign_id=campaign["id"]).exists()
    launched = act(tenant, campaign["id"], "launch").json()
    assert launched["stats"]["skipped"] == skipped and launched["stats"]["queued"] == 5
    recorded = CampaignSkip.objects.filter(campaign_id=campaign["id"])
    assert Counter(recorded.values_list("code", flat=True)) == skipped
    assert recorded.get(code="campaign_suppressed").phone == opted_out.phone


def test_short_code_to_another_country_is_skipped_as_unsupported_region(tenant):
    """A US short code reaches US numbers only: a Canadian contact (allowed to the workspace)
    is skipped, the US one gets its message."""
    sender = short_code_for(tenant.workspace)
    contacts_for(tenant.workspace, ["+14165550123", next_number()], tags=("ca",))
    campaign = draft(tenant, audience={"tags": ["ca"]}, **{"from": sender.number})
    result = act(tenant, campaign["id"], "dry-run").json()
    assert result["skipped"] == {"unsupported_region": 1} and result["messages"] == 1


def test_test_mode_campaign_skips_unverified_recipients(tenant):
    """A campaign made with a test token reaches only the workspace's verified recipients; the
    rest are skipped as recipient_not_verified."""
    contacts = audience(tenant, 3)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(verified_recipients=[contacts[0].phone])
    payload = {
        "name": "Test run",
        "body": "Hi {{first_name}}",
        "audience": {"tags": ["vip"]},
        "from": tenant.sender.number,
    }
    created = tenant.client(mode="test").post("/api/v1/campaigns", payload, format="json")
    assert created.status_code == 201, created.content
    dry = tenant.client(mode="test").post(f"/api/v1/campaigns/{created.json()['id']}/dry-run")
    assert dry.status_code == 200, dry.content
    assert dry.json()["skipped"] == {"recipient_not_verified": 2}
    assert dry.json()["messages"] == 1


def test_launch_fans_out_and_the_identity_holds(tenant, other_tenant):
    """Launch writes one queued marketing message per passing contact with its timeline,
    records every skip, reserves the whole cost, and the stats add up."""
    contacts = audience(tenant, 20)
    audience(tenant, 3, consent=False)
    audience(other_tenant, 5)  # B's contacts never join A's campaign
    campaign = draft(tenant)
    launched = act(tenant, campaign["id"], "launch")
    assert launched.status_code == 200, launched.content
    body = launched.json()
    assert body["status"] == "running"
    stats = body["stats"]
    assert stats["queued"] == 20 and stats["skipped"] == {"consent_required": 3}
    assert stats["recipients"] == 23 and stats["cost"] == "0.1580"
    assert_identity(stats)
    messages = Message.objects.filter(campaign_id=campaign["id"])
    assert messages.count() == 20
    assert {m.to_number for m in messages} == {c.phone for c in contacts}
    first = messages.get(to_number=contacts[0].phone)
    assert first.category == Message.MARKETING and first.body == "Hi F0, 20% off today."
    assert first.workspace_id == tenant.workspace.pk and first.due_at is None
    timeline = list(MessageEvent.objects.filter(message=first).values_list("event", flat=True))
    assert timeline == ["policy_passed", "queued"]
    passed = MessageEvent.objects.get(message=first, event="policy_passed").detail
    assert passed["consent"]["method"] == "web_form" and passed["campaign"] == campaign["id"]
    assert CampaignSkip.objects.filter(campaign_id=campaign["id"]).count() == 3
    spend = SpendMonth.objects.get(workspace=tenant.workspace)
    assert spend.units == 1580
    api_message = tenant.client().get(f"/api/v1/messages/{first.id}").json()
    assert api_message["campaign"] == campaign["id"]
    assert other_tenant.client().get(f"/api/v1/campaigns/{campaign['id']}").status_code == 404
    assert other_tenant.client().get("/api/v1/campaigns").json()["results"] == []


def test_counters_follow_every_status_change(tenant):
    """Status moves by any path keep the counters equal to a count of the messages."""
    audience(tenant, 12)
    campaign = draft(tenant)
    act(tenant, campaign["id"], "launch")
    messages = list(Message.objects.filter(campaign_id=campaign["id"]))
    Message.objects.filter(pk=messages[0].pk).update(status=Status.SENDING)
    Message.objects.filter(pk__in=[m.pk for m in messages[1:4]]).update(status=Status.DELIVERED)
    Message.objects.filter(pk=messages[4].pk).update(reserved=Decimal("0.0010"))
    stats = campaign_stats(Campaign.objects.get(pk=campaign["id"]))
    actual = {
        s: Message.objects.filter(campaign_id=campaign["id"], status=s).count()
        for s in ("queued", "sending", "delivered")
    }
    assert {s: stats[s] for s in actual} == actual == {"queued": 8, "sending": 1, "delivered": 3}
    assert stats["cost"] == "0.0879"  # 11 × 0.0079 + 0.0010
    assert_identity(stats)
    assert CampaignCounter.objects.filter(campaign_id=campaign["id"]).count() == 9 * 8


def test_launch_over_the_spend_limit_is_refused_whole(tenant):
    """A campaign that does not fit under the limit: 402 and nothing written."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(spend_limit=Decimal("0.05"))
    audience(tenant, 10)  # 10 × 0.0079 = 0.079 > 0.05
    campaign = draft(tenant)
    response = act(tenant, campaign["id"], "launch")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "spend_limit_exceeded"
    assert response.json()["error"]["details"]["cost"] == "0.0790"
    assert not Message.objects.filter(campaign_id=campaign["id"]).exists()
    assert tenant.client().get(f"/api/v1/campaigns/{campaign['id']}").json()["status"] == "draft"


def test_state_machine_and_stop_cancels_unsent(tenant):
    """pause → resume → stop; wrong moves are 409; stop cancels with stopped_by_user and
    releases the reservation of every canceled message."""
    audience(tenant, 6)
    campaign = draft(tenant)
    cid = campaign["id"]
    assert act(tenant, cid, "pause").json()["error"]["code"] == "invalid_state"
    act(tenant, cid, "launch")
    sent = Message.objects.filter(campaign_id=cid).first()
    Message.objects.filter(pk=sent.pk).update(status=Status.SENT)
    before = dict(Message.objects.filter(campaign_id=cid).values_list("id", "status"))
    paused = act(tenant, cid, "pause").json()
    # CONTRACT §7: pausing changes no message's status (queued stays queued).
    assert paused["status"] == "paused" and paused["stats"]["queued"] == 5
    assert paused["stats"]["scheduled"] == 0
    assert dict(Message.objects.filter(campaign_id=cid).values_list("id", "status")) == before
    assert act(tenant, cid, "launch").status_code == 409
    resumed = act(tenant, cid, "resume").json()
    assert resumed["status"] == "running" and resumed["stats"]["queued"] == 5
    stopped = act(tenant, cid, "stop")
    assert stopped.status_code == 200
    stats = stopped.json()["stats"]
    assert stopped.json()["status"] == "stopped" and stats["canceled"] == 5 and stats["sent"] == 1
    assert_identity(stats)
    canceled = Message.objects.filter(campaign_id=cid, status=Status.CANCELED)
    assert {m.error["code"] for m in canceled} == {"stopped_by_user"}
    assert all(m.reserved == 0 and m.settled_at for m in canceled)
    assert SpendMonth.objects.get(workspace=tenant.workspace).units == 79  # the sent one only
    assert stats["cost"] == "0.0079"
    assert act(tenant, cid, "resume").status_code == 409


def test_scheduled_launch_waits_for_send_at(tenant):
    """With a future send_at, launch → scheduled; the sweep starts it when the time comes."""
    from campaigns.services.pump import campaigns_sweep

    audience(tenant, 3)
    later = clock.isoformat(clock.now() + timedelta(days=1))  # within send_at's 35 days
    campaign = draft(tenant, send_at=later)
    launched = act(tenant, campaign["id"], "launch").json()
    assert launched["status"] == "scheduled" and launched["stats"]["scheduled"] == 3
    campaigns_sweep()
    assert Campaign.objects.get(pk=campaign["id"]).status == "scheduled"
    Campaign.objects.filter(pk=campaign["id"]).update(send_at=clock.now())
    campaigns_sweep()
    running = tenant.client().get(f"/api/v1/campaigns/{campaign['id']}").json()
    assert running["status"] == "running" and running["stats"]["queued"] == 3


def test_missing_merge_field_and_blocked_content_are_skipped(tenant):
    """A recipient without a needed field, or whose body carries a blocked term, is skipped."""
    audience(tenant, 2, attributes={"code": "A1"})
    audience(tenant, 1)
    Contact.objects.filter(workspace=tenant.workspace).update(first_name="")
    Contact.objects.filter(workspace=tenant.workspace).first()
    contact = Contact.objects.filter(workspace=tenant.workspace, attributes={"code": "A1"}).first()
    contact.attributes = {"code": "cannabis"}
    contact.save()
    campaign = draft(tenant, body="Your code: {{attributes.code}}")
    stats = act(tenant, campaign["id"], "launch").json()["stats"]
    assert stats["skipped"] == {"missing_merge_field": 1, "content_blocked": 1}
    assert stats["queued"] == 1


def test_reply_with_a_campaign_opt_out_word_suppresses_for_that_campaign(tenant):
    """`LEAVE` to a campaign whose words include it → a campaign suppression; the next launch
    of that campaign's audience would skip the number (campaign_suppressed); other words do
    nothing, and other campaigns still reach the number."""
    contact, neighbour = audience(tenant, 2)
    campaign = draft(tenant, opt_out_keywords=["leave", "Bye"])
    assert campaign["opt_out_keywords"] == ["BYE", "LEAVE"]
    act(tenant, campaign["id"], "launch")

    def reply(body: str, sid: str):
        inbound_receive(
            sms=InboundSMS(
                provider="simulator",
                provider_message_id=sid,
                from_=contact.phone,
                to=tenant.sender.number,
                body=body,
            )
        )

    reply("hello", "in1")
    assert not Suppression.objects.filter(scope="campaign").exists()
    reply(" leave ", "in2")
    suppression = Suppression.objects.get(scope="campaign")
    assert suppression.campaign_id == campaign["id"] and suppression.phone == contact.phone
    assert suppression.workspace_id == tenant.workspace.pk
    assert not Suppression.objects.filter(scope="workspace").exists()
    # The fan-out judging this campaign's audience again (the dry run is the launch's plan)
    # skips the number, and only it.
    again = act(tenant, campaign["id"], "dry-run").json()
    assert again["skipped"] == {"campaign_suppressed": 1} and again["messages"] == 1
    other = draft(tenant, name="Another")
    launched = act(tenant, other["id"], "launch").json()
    assert launched["stats"]["skipped"] == {} and launched["stats"]["queued"] == 2
    reached = Message.objects.filter(campaign_id=other["id"]).values_list("to_number", flat=True)
    assert set(reached) == {contact.phone, neighbour.phone}


def test_campaign_routes_need_their_scopes(tenant):
    """A viewer reads campaigns but may not create or launch one."""
    campaign = draft(tenant)
    viewer = tenant.client("viewer")
    assert viewer.get(f"/api/v1/campaigns/{campaign['id']}").status_code == 200
    assert viewer.post(f"/api/v1/campaigns/{campaign['id']}/launch").status_code == 403
    assert viewer.post("/api/v1/campaigns", {"name": "x"}, format="json").status_code == 403


def test_staff_see_a_campaign_with_its_stats_and_cannot_edit_it(client, tenant):
    """The admin shows the campaign's stats from the counters; no add, change or delete."""
    from django.contrib.auth import get_user_model

    audience(tenant, 3)
    campaign = draft(tenant)
    act(tenant, campaign["id"], "launch")
    staff = get_user_model().objects.create_superuser("staff@tern.test", "staff@tern.test", "pw")
    client.force_login(staff)
    page = client.get(f"/admin/campaigns/campaign/{campaign['id']}/change/")
    assert page.status_code == 200
    assert b"<th>queued</th><td>3</td>" in page.content
    assert client.get("/admin/campaigns/campaign/").status_code == 200
    assert client.get("/admin/campaigns/campaign/add/").status_code == 403
    assert client.get("/admin/campaigns/contactimport/").status_code == 200
