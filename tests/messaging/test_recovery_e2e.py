"""Recovery at the sender's pace: a worker killed early in a batch, restarted, the sweep run once
(its lease on the lost messages expired) → the whole backlog goes out in seconds, each once."""

import os
import signal
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging.actions.sweeps import sweep_due, sweep_stuck_sending
from messaging.models import FINAL_STATUSES, Message
from messaging.providers.simulator.models import SimulatorSubmission
from messaging.providers.simulator.reports import sweep_simulator_reports

from ..support.factories import short_code_for
from ..support.workers import celery_processes, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

COUNT = 300


def _kill_group(procs) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_batch_lost_with_its_worker_recovers_at_the_senders_pace(tenant):
    """300 on a 100/s short code, the worker SIGKILLed once its first sends went out: after the
    restart and one sweep past the lease, all 300 are final within seconds, each submitted once."""
    tenant.workspace.rate_limit_per_second = 500
    tenant.workspace.save(update_fields=["rate_limit_per_second"])
    sender = short_code_for(tenant.workspace)
    items = [
        {"to": f"+1415558{i:04d}", "from": sender.number, "body": f"batch {i}"}
        for i in range(1000, 1000 + COUNT)
    ]
    answer = tenant.client().post("/api/v1/messages/batch", {"messages": items}, format="json")
    ids = [r["message"]["id"] for r in answer.json()["results"]]
    assert len(ids) == COUNT
    ledger = SimulatorSubmission.objects.filter(message_id__in=ids)
    with celery_processes("worker") as procs:
        wait_for(lambda: ledger.exists(), timeout=60, interval=0.02)
        _kill_group(procs)
    lost = Message.objects.filter(pk__in=ids, status="queued").count()
    assert lost > COUNT / 2, f"the kill came too late: only {lost} left queued"
    with celery_processes("worker"):
        with time_machine.travel(timezone.now() + timedelta(minutes=3)):
            sweep_stuck_sending()
            sweep_due()
        started = time.monotonic()
        wait_for(
            lambda: not Message.objects.filter(pk__in=ids, status="queued").exists(),
            timeout=60,
            interval=0.2,
        )
        drained = time.monotonic() - started

        def final() -> bool:
            sweep_simulator_reports()
            return all(m.status in FINAL_STATUSES for m in Message.objects.filter(pk__in=ids))

        wait_for(final, timeout=60, interval=0.5)
    print(f"{lost} lost with the worker; all sent again {drained:.1f} s after the sweep")
    assert drained < 20  # 300 at 100/s is 3 s of slots; minutes would mean a trickle
    assert ledger.filter(accepted=True).count() == COUNT
    assert ledger.values("message_id").distinct().count() == COUNT  # none submitted twice
