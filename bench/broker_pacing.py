"""The broker and pacing measurements (`python -m bench.campaign_run broker|pacing TAG ...`): a
campaign through a real worker and beat, its publishes counted at the broker or its provider
submissions timed."""

import os
import time

from .campaign_world import campaign_status, launch, submission_times, worker_campaign
from .workers import BrokerTap, celery, wait_for

WORKER_SECONDS = 240  # a worker run slower than this is broken, not slow


def broker(tag: str, count: int) -> dict:
    """Publishes at the broker while a campaign to `count` goes out through a real worker."""
    from messaging.models import Message, Status

    campaign, sender, parked = worker_campaign(tag, "broker", count, 100)
    started = time.monotonic()
    with BrokerTap(os.environ["CELERY_BROKER_URL"]) as tap:  # the worker's (worker_env)
        launch_seconds = launch(campaign)  # its on-commit pump kick is the first bulk publish
        with celery("broker", "worker", "beat") as procs:
            wait_for(
                lambda: campaign_status(campaign.pk) == "completed",
                WORKER_SECONDS,
                "campaign completion",
                procs,
            )
            pushes, commands = tap.settle()  # before the shutdown's restores
    done = (Status.SENT, Status.DELIVERED)
    sent = Message.objects.filter(campaign_id=campaign.pk, status__in=done)
    times = submission_times(sender)
    return {
        "recipients": count,
        "sent": sent.count(),
        "bulk_publishes": pushes["bulk"],
        "publishes_by_queue": dict(pushes),
        "publishes_total": sum(pushes.values()),
        "broker_commands": dict(commands.most_common(12)),
        "monitor_samples": {k: tap.samples[k] for k in ("LPUSH",) if k in tap.samples},
        "launch_seconds": round(launch_seconds, 2),
        "seconds_to_complete": round(time.monotonic() - started, 1),
        "seconds_first_to_last_submission": round(times[-1] - times[0], 1),
        **parked,
    }


def pacing(tag: str, count: int, mps: int) -> dict:
    """Provider submissions per second for a campaign from a short code at `mps`."""
    from messaging.providers.simulator.models import SimulatorSubmission

    campaign, sender, parked = worker_campaign(tag, "pacing", count, mps)
    ledger = SimulatorSubmission.objects.filter(from_number=sender.number)
    launch(campaign)
    with celery("pacing", "worker", "beat") as procs:
        wait_for(lambda: ledger.count() >= count, WORKER_SECONDS, "all submissions", procs)
    times = submission_times(sender)
    span = times[-1] - times[0]
    return {
        "submissions": len(times),
        "seconds": span,
        "rate": (len(times) - 1) / span,
        "busiest_second": busiest(times, 1.0),
        **parked,
    }


def busiest(times: list[float], window: float) -> int:
    """The most submissions in any window of this length (a burst the average would hide)."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most
