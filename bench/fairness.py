"""The fairness measurement (`python -m bench.campaign_run fairness TAG RECIPIENTS SAMPLES`): one
workspace's API sends while another workspace broadcasts, and the latency pieces that
bench.embedded_run measures the embedded default with too."""

import os
import statistics
import time

import requests

from .campaign_world import (
    campaign_status,
    launch,
    owner_token,
    retire,
    short_code,
    worker_campaign,
    workspace_new,
)
from .harness import BenchError, gunicorn
from .workers import celery, wait_for


def api_workspace(tag: str):
    """Workspace A: a 100/s short code and a live token of its owner. (token secret, sender)"""
    workspace = workspace_new(f"fairness A {tag}")
    sender = short_code(workspace, 100)
    return owner_token(workspace), sender


def sent_at(message_id: str, procs) -> float:
    """When the worker recorded the message `sent` (its sent_to_carrier event), epoch seconds."""
    from messaging.models import MessageEvent

    events = MessageEvent.objects.filter(message_id=message_id, event="sent_to_carrier")
    at = wait_for(
        lambda: events.values_list("at", flat=True).first(),
        30,
        f"{message_id} sent",
        procs,
        interval=0.01,
    )
    return at.timestamp()


def latencies(session, url: str, sender, count: int, procs, label: str) -> list[float]:
    """Seconds from just before each POST /api/v1/messages to the message's `sent`, for `count`
    sends one after another (unique bodies: duplicate detection never fires)."""
    seconds = []
    for n in range(count):
        body = {
            "to": f"+1415555{n % 100 + 1000:04d}",
            "from": sender.number,
            "body": f"Your code is {n:06d} ({label} {time.time():.6f}).",
        }
        before = time.time()
        response = session.post(f"{url}/api/v1/messages", json=body, timeout=30)
        if response.status_code != 202:
            raise BenchError(f"send {label} {n}: {response.status_code} {response.text[:500]}")
        seconds.append(sent_at(response.json()["id"], procs) - before)
    return seconds


def p95(values: list[float]) -> float:
    """The 95th percentile (statistics' exclusive method, as the end-to-end test had it)."""
    return statistics.quantiles(values, n=20)[-1]


def summary(values: list[float]) -> dict:
    """Sample count and a few quantiles of latencies, in seconds."""
    return {
        "samples": len(values),
        "p50": round(statistics.median(values), 4),
        "p95": round(p95(values), 4),
        "max": round(max(values), 4),
    }


def figures(count: int, idle: list, busy: list, broadcast: int, busy_seconds: float) -> dict:
    """A fairness run's first figures: A's latencies idle and busy, B's broadcast meanwhile."""
    return {
        "recipients": count,
        "idle": summary(idle),
        "busy": summary(busy),
        "idle_p95": p95(idle),
        "busy_p95": p95(busy),
        "broadcast_submissions_while_busy": broadcast,
        "broadcast_per_s": round(broadcast / busy_seconds, 1),
    }


def fairness(tag: str, count: int, samples: int) -> dict:
    """A's API send latency to `sent`, idle and while B's campaign to `count` broadcasts through
    the Procfile's split workers (transactional, niced bulk) and beat."""
    from messaging.models import Message, Status
    from messaging.providers.simulator.models import SimulatorSubmission

    campaign, b_sender, parked = worker_campaign(tag, "fairness B", count, 100)
    token, a_sender = api_workspace(tag)
    ledger = SimulatorSubmission.objects.filter(from_number=b_sender.number)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    roles = ("worker-transactional", "worker-bulk", "beat")
    with (
        gunicorn(dict(os.environ), "gunicorn-fairness") as (url, _),
        celery("fairness", *roles) as procs,
    ):
        latencies(session, url, a_sender, 5, procs, "warm-up")  # connections, imports
        idle = latencies(session, url, a_sender, samples, procs, "idle")
        launch_seconds = launch(campaign)
        wait_for(
            lambda: ledger.count() > min(500, count // 20), 120, "the broadcast's start", procs
        )
        sent_before, started = ledger.count(), time.monotonic()
        busy = latencies(session, url, a_sender, samples, procs, "busy")
        busy_seconds = time.monotonic() - started
        broadcast = ledger.count() - sent_before
        status = campaign_status(campaign.pk)
        left = Message.objects.filter(campaign_id=campaign.pk, status=Status.QUEUED).count()
    retire([campaign.pk])
    return {
        **figures(count, idle, busy, broadcast, busy_seconds),
        "busy_seconds": round(busy_seconds, 1),
        "launch_seconds": round(launch_seconds, 2),
        "campaign_status_after_busy": status,
        "campaign_queued_after_busy": left,
        **parked,
    }
