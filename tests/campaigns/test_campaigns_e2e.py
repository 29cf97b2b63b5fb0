"""Campaigns through real workers: fan-out, delivery, stop, pacing (CONTRACT §7). Transactional
latency during another workspace's broadcast is measured by `make bench` (fairness_broadcast)."""

import itertools
import time

import pytest

from bench.zones import midday_zone
from campaigns.models import Contact
from compliance.services import suppression_create
from messaging import pacing
from messaging.models import Message, Status
from messaging.providers.simulator.models import SimulatorSubmission
from tests.support.campaign_stats import identity_holds
from tests.support.factories import contacts_for, short_code_for
from workspaces import clock
from workspaces.audit import Actor
from workspaces.models import Sender

from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def short_code(tenant, mps: int = 100) -> Sender:
    """A US short code of the tenant (100/s, or its lower `mps`)."""
    return short_code_for(tenant.workspace, mps=mps)


_phones = itertools.count()


def fresh_phone() -> str:
    """A New York number whose last four digits (1000–8999) script no simulator failure."""
    n = next(_phones)
    return f"+1212{200 + n // 8000:03d}{1000 + n % 8000:04d}"


def contacts(tenant, count: int, *, consent: bool = True) -> list[Contact]:
    """`count` contacts tagged `all`, at midday, with marketing consent unless told otherwise."""
    phones = [fresh_phone() for _ in range(count)]
    return contacts_for(tenant.workspace, phones, consent=consent, timezone=midday_zone())


def campaign(tenant, sender: Sender, **fields) -> str:
    """A draft campaign to everyone tagged `all`."""
    response = tenant.client().post(
        "/api/v1/campaigns",
        {
            "name": "Broadcast",
            "body": "Hi {{first_name}}, news from us. Reply STOP to opt out.",
            "audience": {"tags": ["all"]},
            "from": sender.number,
            **fields,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def act(tenant, campaign_id: str, verb: str) -> dict:
    response = tenant.client().post(f"/api/v1/campaigns/{campaign_id}/{verb}")
    assert response.status_code == 200, response.content
    return response.json()


def stats(tenant, campaign_id: str) -> dict:
    return tenant.client().get(f"/api/v1/campaigns/{campaign_id}").json()


@pytest.mark.timeout(900)
@pytest.mark.postgres_only("10,000 recipients through real workers: minutes on SQLite")
def test_ten_thousand_recipients_with_skips_all_delivered(tenant, other_tenant):
    """10,000 contacts, 300 suppressed, 200 without consent, from a short code: 9,500
    messages, 500 skipped with their codes, the identity holding at every poll, all delivered."""
    sender = short_code(tenant)
    audience = contacts(tenant, 9_800)
    contacts(tenant, 200, consent=False)
    for contact in audience[:300]:
        suppression_create(
            workspace_id=tenant.workspace.pk,
            phone=contact.phone,
            source="api",
            actor=Actor.system(),
        )
    contacts(other_tenant, 50)
    cid = campaign(tenant, sender)
    launched = act(tenant, cid, "launch")
    assert launched["stats"]["skipped"] == {"workspace_suppressed": 300, "consent_required": 200}
    assert launched["stats"]["queued"] == 9_500 and launched["stats"]["recipients"] == 10_000
    polls = []

    def done():
        now = stats(tenant, cid)
        polls.append(now["stats"])
        return now["status"] == "completed" and now["stats"]["delivered"] == 9_500 and now

    with celery_processes("worker-transactional", "worker-bulk", "beat"):
        final = wait_for(done, timeout=800, interval=1.0)
    assert len(polls) > 5 and all(identity_holds(p) for p in polls)
    assert final["stats"]["sent"] == 0 and final["stats"]["failed"] == 0
    assert Message.objects.filter(campaign_id=cid, status=Status.DELIVERED).count() == 9_500
    submitted = SimulatorSubmission.objects.filter(from_number=sender.number)
    assert submitted.count() == submitted.values("message_id").distinct().count() == 9_500
    assert not Message.objects.filter(workspace=other_tenant.workspace).exists()


def test_stop_halfway_cancels_the_rest_and_sends_nothing_after(tenant):
    """Stopped halfway: the unsent are canceled with stopped_by_user, and no submission reaches
    the provider after the stop except those a worker had already claimed."""
    sender = short_code(tenant, mps=20)
    contacts(tenant, 200)
    cid = campaign(tenant, sender)
    act(tenant, cid, "launch")
    with celery_processes("worker-transactional", "worker-bulk", "beat"):
        wait_for(
            lambda: SimulatorSubmission.objects.filter(from_number=sender.number).count() >= 80,
            timeout=60,
        )
        stopped = act(tenant, cid, "stop")
        stopped_at = clock.now()
        # The sender's next free slot comes after every slot booked before the stop: once it is
        # past (and nothing is mid-call), anything wrongly sent after the stop would have gone.
        last_slot = pacing.book(sender=sender.number, count=1).start
        wait_for(
            lambda: time.time() > last_slot + 1 and stats(tenant, cid)["stats"]["sending"] == 0,
            timeout=max(0.0, last_slot - time.time()) + 30,
            interval=0.5,
        )
    final = stats(tenant, cid)["stats"]
    assert stopped["status"] == "stopped" and identity_holds(final)
    canceled = Message.objects.filter(campaign_id=cid, status=Status.CANCELED)
    assert 50 <= canceled.count() <= 120, final
    assert {m.error["code"] for m in canceled} == {"stopped_by_user"}
    late = SimulatorSubmission.objects.filter(from_number=sender.number, created_at__gt=stopped_at)
    claimed_before = set(
        Message.objects.filter(campaign_id=cid, claimed_at__lte=stopped_at).values_list(
            "id", flat=True
        )
    )
    assert set(late.values_list("message_id", flat=True)) <= claimed_before
    assert not SimulatorSubmission.objects.filter(message_id__in=canceled.values("id")).exists()


def test_a_sender_paced_at_five_per_second(tenant):
    """A 5 msg/s sender: within ±5 % of 5/s over 20 s, and never above it in any window."""
    sender = short_code(tenant, mps=5)
    contacts(tenant, 101)
    cid = campaign(tenant, sender)
    act(tenant, cid, "launch")
    with celery_processes("worker-transactional", "worker-bulk", "beat"):
        wait_for(
            lambda: SimulatorSubmission.objects.filter(from_number=sender.number).count() == 101,
            timeout=60,
            interval=0.5,
        )
    times = sorted(
        s.timestamp()
        for s in SimulatorSubmission.objects.filter(from_number=sender.number).values_list(
            "created_at", flat=True
        )
    )
    span = times[-1] - times[0]
    rate = (len(times) - 1) / span
    assert 4.75 <= rate <= 5.05, (rate, span)
    # In any window of length L, at most 5·L + 1 sends (one slot of jitter at the edges).
    for i, start in enumerate(times):
        for j in range(i + 1, len(times)):
            assert (j - i) <= 5 * (times[j] - start) + 2, (i, j, times[j] - start)
