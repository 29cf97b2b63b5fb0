"""/healthz reports each process by its own heartbeat: the worker's does not depend on beat."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from workspaces.models import Heartbeat
from workspaces.services import heartbeat_record
from workspaces.tasks import worker_heartbeat_name

from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db


def test_a_worker_is_ok_by_its_own_heartbeat_with_beat_down(anon):
    """A fresh `worker:<name>` row and no scheduler row: worker ok, scheduler stale."""
    heartbeat_record(name=worker_heartbeat_name("worker@host"))
    assert anon.get("/healthz").json() == {
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "scheduler": "stale",
    }


def test_beat_alone_is_ok_and_no_worker_is_stale(anon):
    """Beat's heartbeat fresh, no worker's: scheduler ok, worker stale."""
    heartbeat_record(name="scheduler")
    body = anon.get("/healthz").json()
    assert body["scheduler"] == "ok" and body["worker"] == "stale"


def test_any_fresh_worker_counts_and_60_seconds_make_stale(anon):
    """Two workers: one stale, one fresh → ok; after 60 s without any → stale."""
    now = timezone.now()
    with time_machine.travel(now - timedelta(seconds=120), tick=False):
        heartbeat_record(name=worker_heartbeat_name("bulk@host"))
    with time_machine.travel(now, tick=False):
        heartbeat_record(name=worker_heartbeat_name("worker@host"))
        assert anon.get("/healthz").json()["worker"] == "ok"
    with time_machine.travel(now + timedelta(seconds=59), tick=False):
        assert anon.get("/healthz").json()["worker"] == "ok"
    with time_machine.travel(now + timedelta(seconds=61), tick=False):
        assert anon.get("/healthz").json()["worker"] == "stale"


def _worker_beats() -> dict:
    return dict(Heartbeat.objects.filter(name__startswith="worker:").values_list("name", "beat_at"))


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_keeps_beating_without_beat(anon):
    """A real worker, no beat: its heartbeat advances on its own; /healthz worker ok, scheduler
    stale."""
    with celery_processes("worker", WORKER_HEARTBEAT_SECONDS="0.5"):
        first = wait_for(_worker_beats, timeout=60)
        wait_for(lambda: _worker_beats() != first and _worker_beats(), timeout=30)
        body = anon.get("/healthz").json()
    assert body["worker"] == "ok" and body["scheduler"] == "stale"


@pytest.mark.django_db(transaction=True)
def test_real_beat_without_a_worker(anon):
    """A real beat, no worker: scheduler ok, worker stale."""
    with celery_processes("beat"):
        wait_for(lambda: Heartbeat.objects.filter(name="scheduler").exists(), timeout=60)
        body = anon.get("/healthz").json()
    assert body["scheduler"] == "ok" and body["worker"] == "stale"
