"""Recovery at the sender's pace: a worker killed early in a batch, restarted, the sweep run once
(its lease on the lost messages expired) → the whole backlog goes out in seconds, each once; on
the suite's broker (PostgreSQL + Redis in CI) and on the embedded default's `folder://` broker."""

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

pytestmark = [pytest.mark.django_db(transaction=True)]

COUNT = 300


def _kill_group(procs) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def folder_broker(settings):
    """This process publishes to the embedded default's broker (the folder under the test var
    folder, which the workers started with CELERY_BROKER_URL=folder:// read), whatever broker the
    suite runs on; the suite's broker again afterwards. Celery reads CELERY_BROKER_URL from the
    environment before its settings, so the environment is what changes."""
    from kombu import pools

    from config.celery import app

    def use(url: str | None, options: dict) -> None:
        if url is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = url
        app.conf.broker_transport_options = options
        # Close and forget every pooled connection: kombu keeps pools per connection URL in a
        # global, and a pool closed but kept there answers "Acquire on closed pool" to the next
        # test that publishes to the suite's broker again.
        pools.reset()
        app._pool = app.amqp._producer_pool = None  # the next publish connects anew

    saved = os.environ.get("CELERY_BROKER_URL"), app.conf.broker_transport_options
    use("folder://", {"folder": str(settings.BROKER_DIR), "polling_interval": 0.05})
    yield
    use(*saved)


@pytest.mark.postgres_only
def test_a_batch_lost_with_its_worker_recovers_at_the_senders_pace(tenant):
    """300 on a 100/s short code, the worker SIGKILLed once its first sends went out: after the
    restart and one sweep past the lease, all 300 are final within seconds, each submitted once."""
    _lose_a_batch_and_recover(tenant)


def test_on_the_embedded_broker_a_batch_lost_with_its_worker_recovers(tenant, folder_broker):
    """The same on `folder://` (the embedded default's broker; SQLite in the SQLite run, the
    suite's PostgreSQL in the other): the killed worker's claimed tasks and the lost messages
    all go out after the restart, each submitted once."""
    assert app_broker_url().startswith("folder://")
    # Each task is a file the worker polls for and renames: on two busy shared cores it drained
    # in 20-40 s; still far from the trickle it guards against (30 per 100 s, 9 minutes).
    _lose_a_batch_and_recover(tenant, drain_within=60, CELERY_BROKER_URL="folder://")


def app_broker_url() -> str:
    """Where this process's Celery app publishes."""
    from config.celery import app

    with app.connection_for_write() as connection:
        return connection.as_uri()


def _lose_a_batch_and_recover(tenant, drain_within: float = 20, **env) -> None:
    """Send 300, kill the worker early in them, restart it, sweep once past the lease; assert."""
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
    with celery_processes("worker", **env) as procs:
        wait_for(lambda: ledger.exists(), timeout=60, interval=0.02)
        _kill_group(procs)
    lost = Message.objects.filter(pk__in=ids, status="queued").count()
    assert lost > COUNT / 2, f"the kill came too late: only {lost} left queued"
    with celery_processes("worker", **env):
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
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{lost} lost with the worker; all sent again {drained:.1f} s after the sweep (load {load})"
    )
    assert drained < drain_within  # 300 at 100/s is 3 s of slots; minutes would mean a trickle
    assert ledger.filter(accepted=True).count() == COUNT
    assert ledger.values("message_id").distinct().count() == COUNT  # none submitted twice
