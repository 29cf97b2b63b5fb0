"""Pause and resume through real workers (CONTRACT §7): while paused nothing of the campaign
reaches the provider and no message changes status; resume delivers the rest, each once."""

import pytest

from messaging.models import Message, MessageEvent, Status
from messaging.providers.simulator.models import SimulatorSubmission
from tests.support.campaign_stats import identity_holds
from tests.support.factories import contacts_for, next_number, short_code_for
from workspaces import clock

from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

COUNT = 200


def noon_zone() -> str:
    """A fixed-offset zone where it is about noon now: the workers run on the real clock."""
    offset = 12 - clock.now().hour
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def act(tenant, cid: str, verb: str) -> dict:
    response = tenant.client().post(f"/api/v1/campaigns/{cid}/{verb}")
    assert response.status_code == 200, response.content
    return response.json()


def campaign_now(tenant, cid: str) -> dict:
    return tenant.client().get(f"/api/v1/campaigns/{cid}").json()


@pytest.mark.timeout(300)
def test_pause_holds_everything_and_resume_delivers_the_rest(tenant, other_tenant):
    sender = short_code_for(tenant.workspace, mps=20)
    phones = [next_number() for _ in range(COUNT)]
    contacts_for(tenant.workspace, phones, tags=("all",), timezone=noon_zone())
    created = tenant.client().post(
        "/api/v1/campaigns",
        {
            "name": "Paused",
            "body": "Hi {{first_name}}, news. Reply STOP to opt out.",
            "audience": {"tags": ["all"]},
            "from": sender.number,
        },
        format="json",
    )
    cid = created.json()["id"]
    act(tenant, cid, "launch")
    submissions = SimulatorSubmission.objects.filter(from_number=sender.number)
    held = MessageEvent.objects.filter(message__campaign_id=cid, event="held_campaign_paused")
    with celery_processes("worker-transactional", "worker-bulk", "beat"):
        wait_for(lambda: submissions.count() >= 40, timeout=60)
        paused = act(tenant, cid, "pause")
        paused_at = clock.now()
        assert paused["status"] == "paused" and paused["stats"]["scheduled"] == 0
        # Every booked slot comes while paused: each message is either submitted (claimed
        # before the pause) or held by the claim at its slot.
        wait_for(lambda: submissions.count() + held.count() == COUNT, timeout=60, interval=0.5)
        wait_for(lambda: campaign_now(tenant, cid)["stats"]["sending"] == 0, timeout=30)
        during = campaign_now(tenant, cid)
        late = submissions.filter(created_at__gt=paused_at).values_list("message_id", flat=True)
        claimed_before = Message.objects.filter(campaign_id=cid, claimed_at__lte=paused_at)
        assert set(late) <= set(claimed_before.values_list("id", flat=True))
        waiting = Message.objects.filter(campaign_id=cid).exclude(
            pk__in=submissions.values("message_id")
        )
        assert waiting.count() == held.count() > 0
        assert set(waiting.values_list("status", flat=True)) == {Status.QUEUED}
        assert during["status"] == "paused" and identity_holds(during["stats"])
        assert during["stats"]["queued"] == waiting.count()

        act(tenant, cid, "resume")
        done = wait_for(
            lambda: (
                (now := campaign_now(tenant, cid))["status"] == "completed"
                and now["stats"]["delivered"] == COUNT
                and now
            ),
            timeout=120,
            interval=0.5,
        )
    assert done["stats"]["delivered"] == COUNT and identity_holds(done["stats"])
    assert submissions.count() == submissions.values("message_id").distinct().count() == COUNT
    assert not Message.objects.filter(workspace=other_tenant.workspace).exists()
