"""Lost queued messages come back when their lease expires, in fan-out tasks, not one by one."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging import tasks
from messaging.actions.sweeps import sweep_due
from messaging.models import Message

from ..support.factories import message_for, short_code_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """What the sweep hands the broker: (task name, args), nothing actually sent."""
    calls = []
    for name in ("dispatch_fanout", "dispatch_message"):
        task = getattr(tasks, name)
        monkeypatch.setattr(
            task, "apply_async", lambda args, name=name, **kw: calls.append((name, args, kw))
        )
    return calls


def _lost(tenant, count: int) -> list[str]:
    """`count` accepted sends whose tasks were lost with a worker (still queued)."""
    sender = short_code_for(tenant.workspace)
    return [
        message_for(tenant.workspace, sender, to=f"+1415559{i:04d}").id
        for i in range(1000, 1000 + count)
    ]


def test_lost_messages_go_back_in_fanout_tasks_once_their_lease_expired(
    tenant, other_tenant, published, django_capture_on_commit_callbacks
):
    """150 lost: two fan-out tasks (100 + 50) on the transactional queue, no per-message task."""
    ids = _lost(tenant, 150) + _lost(other_tenant, 1)
    published.clear()
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=3)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sweep_due() == 151
    assert [name for name, _, _ in published] == ["dispatch_fanout", "dispatch_fanout"]
    handed = [mid for _, (chunk, queue), _ in published for mid in chunk]
    assert sorted(handed) == sorted(ids)
    assert {kw["queue"] for _, _, kw in published} == {"transactional"}


def test_a_live_lease_is_left_alone_and_an_expired_one_renewed(
    tenant, published, django_capture_on_commit_callbacks
):
    """Before the lease ends nothing is handed back; after, once, with a new lease."""
    (mid,) = _lost(tenant, 1)
    published.clear()
    start = timezone.now()
    with time_machine.travel(start + timedelta(seconds=60)):
        assert sweep_due() == 0
    with (
        time_machine.travel(start + timedelta(minutes=2)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sweep_due() == 1
        assert sweep_due() == 0  # renewed: the next sweep does not hand it out again
    assert Message.objects.get(pk=mid).due_at > start + timedelta(minutes=3)
    assert len(published) == 1


def test_a_lost_message_is_picked_up_within_two_minutes(tenant, published):
    """CONTRACT §5: the lease (90 s) plus the sweep's period (15 s) stays under 2 minutes."""
    _lost(tenant, 1)
    with time_machine.travel(timezone.now() + timedelta(seconds=105)):
        assert sweep_due() == 1
