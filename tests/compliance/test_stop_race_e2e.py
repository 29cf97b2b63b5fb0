"""A STOP arriving while a real worker dispatches 1,000 messages: nothing to that number is
claimed after the STOP commits (the claim and the STOP share the (workspace, phone) lock)."""

import pytest

from compliance.models import Suppression
from messaging.actions.send import SendInput, message_send
from messaging.models import FINAL_STATUSES, Message
from messaging.providers.simulator.models import SimulatorSubmission

from ..support.factories import short_code_for
from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# Submitted to the provider: a message passes `sent` on its way to `delivered` (2 s later).
REACHED = ("sent", "delivered")

STOPPER = "+14155551999"
NUMBERS = [STOPPER, *(f"+1415555{n:04d}" for n in range(2000, 2019))]


def test_no_claim_after_the_stop_commits(client, tenant):
    """Messages to the stopping number: claimed before the STOP, or failed unsent after it."""
    sender = short_code_for(tenant.workspace)  # 100/s, so the worker is busy when STOP comes
    ids = [
        message_send(
            workspace=tenant.workspace,
            test=False,
            data=SendInput(to=NUMBERS[i % len(NUMBERS)], body=f"update {i}", from_=sender.number),
        ).id
        for i in range(1000)
    ]
    with celery_processes("worker"):
        wait_for(lambda: Message.objects.filter(status__in=REACHED).count() >= 100, timeout=120)
        stop = client.post(
            "/hooks/simulator/inbound",
            {"from": STOPPER, "to": sender.number, "body": "STOP"},
            content_type="application/json",
        )
        assert stop.status_code == 200
        stopped_at = Suppression.objects.get(phone=STOPPER, active=True).created_at
        wait_for(
            lambda: (
                not Message.objects.filter(pk__in=ids).exclude(status__in=FINAL_STATUSES).exists()
            ),
            timeout=240,
        )
        # The reply rides the same worker: wait for the simulator to report it delivered.
        reply = Message.objects.filter(system_reply=True, to_number=STOPPER)
        wait_for(lambda: reply.filter(status="delivered").exists(), timeout=60)
    to_stopper = Message.objects.filter(pk__in=ids, to_number=STOPPER)
    late = to_stopper.filter(claimed_at__gte=stopped_at)
    assert not late.exists()
    blocked = to_stopper.filter(status="failed", error__code="workspace_suppressed")
    assert blocked.exists(), "the STOP came too late to prove anything"
    assert not SimulatorSubmission.objects.filter(message_id__in=blocked.values("id")).exists()
    assert Message.objects.filter(system_reply=True, to_number=STOPPER).count() == 1
