"""A real worker and a real scheduler, as `make run` starts them, prove themselves on /healthz."""

import pytest

from workspaces.models import Heartbeat
from workspaces.tasks import worker_heartbeat

from ..support.workers import celery_processes, wait_for


@pytest.mark.django_db(transaction=True)
def test_real_worker_and_beat_report_healthy(anon):
    """A task sent through the broker runs on the worker; beat's ticks mark the scheduler alive."""
    assert anon.get("/healthz").json()["worker"] == "stale"
    with celery_processes("worker", "beat"):
        wait_for(lambda: Heartbeat.objects.filter(name="scheduler").exists(), timeout=60)
        worker_heartbeat.delay()
        wait_for(lambda: Heartbeat.objects.filter(name="worker").exists(), timeout=60)
        body = anon.get("/healthz").json()
    assert body == {"database": "ok", "broker": "ok", "worker": "ok", "scheduler": "ok"}
