"""Run inside the bench environment (`python -m bench.campaign_run KIND TAG`), KIND one of
`fanout`, `broker`, `pacing`, `fairness`: one campaign measurement in a workspace of its own.
Prints one JSON line."""

import json
import os
import secrets
import statistics
import sys
import time
from datetime import timedelta

import django
import psycopg
import requests

from .harness import BenchError, gunicorn
from .load import MAGIC_ENDINGS
from .workers import BrokerTap, celery, wait_for
from .zones import midday_zone

BODY = "Hi {{first_name}}, news from us. Reply STOP to opt out."
FANOUT_CONTACTS = 100_000
WORKER_SECONDS = 240  # a worker run slower than this is broken, not slow


def phones(count: int) -> list[str]:
    """Valid US numbers (+1 212 2xx xxxx), minus the simulator's magic endings."""
    numbers = (f"+1212{n:07d}" for n in range(2_000_000, 3_000_000))
    return [n for n in numbers if n[-4:] not in MAGIC_ENDINGS][:count]


def workspace_new(label: str):
    """A live workspace (no verified-recipient rule) with no spend cap."""
    from workspaces.models import Workspace
    from workspaces.services import user_get_or_create, workspace_create

    owner = user_get_or_create(email="bench@example.test")
    workspace = workspace_create(name=f"Bench {label}", owner=owner, test_mode=False)
    Workspace.objects.filter(pk=workspace.pk).update(spend_limit=None)
    return workspace


def short_code(workspace, mps: int):
    """A new US short code of the workspace (a fresh number: no pacing mark left from a rerun)."""
    from workspaces.audit import Actor
    from workspaces.models import Sender
    from workspaces.services import sender_create

    number = str(secrets.choice(range(100_000, 1_000_000)))
    while Sender.objects.filter(number=number).exists():
        number = str(secrets.choice(range(100_000, 1_000_000)))
    return sender_create(
        workspace=workspace,
        actor=Actor.system("bench"),
        number=number,
        kind=Sender.SHORT_CODE,
        country="US",
        mps=mps,
    )


def audience(workspace, numbers: list[str], *, consent: list[str], suppressed: list[str]):
    """Contacts for the numbers; marketing consent and workspace suppressions for some. The
    contacts live where it is midday: New York numbers alone would be held by quiet hours
    between 21:00 and 08:00 there, and the worker benchmarks would wait for the morning."""
    from campaigns.models import Contact
    from compliance.models import Consent, Suppression
    from workspaces import clock

    now, ws, zone = clock.now(), workspace.pk, midday_zone()
    Contact.objects.bulk_create(
        [
            Contact(
                workspace_id=ws,
                phone=p,
                first_name="Ann",
                tags=["all"],
                timezone=zone,
                created_at=now,
            )
            for p in numbers
        ],
        batch_size=5000,
    )
    Consent.objects.bulk_create(
        [
            Consent(workspace_id=ws, phone=p, method="web_form", captured_at=now, created_at=now)
            for p in consent
        ],
        batch_size=5000,
    )
    Suppression.objects.bulk_create(
        [Suppression(workspace_id=ws, phone=p, created_at=now) for p in suppressed], batch_size=5000
    )


def analyze() -> None:
    """Table statistics, as autovacuum would have them for tables this size in production."""
    from django.db import connection

    from campaigns.models import Contact
    from compliance.models import Consent, Suppression

    tables = ", ".join(m._meta.db_table for m in (Contact, Consent, Suppression))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def campaign_new(workspace, sender):
    """A draft campaign to the whole workspace."""
    from campaigns.services.launch import campaign_create
    from workspaces.audit import Actor

    return campaign_create(
        workspace_id=workspace.pk,
        test=False,
        actor=Actor.system("bench"),
        name="Bench",
        body=BODY,
        audience={"all": True},
        from_number=sender.number,
    )


def launch(campaign) -> float:
    """Seconds from the call to campaign_launch until its commit and on-commit pump kick ran."""
    from campaigns.services.launch import campaign_launch
    from workspaces.audit import Actor

    started = time.perf_counter()
    campaign_launch(campaign=campaign, actor=Actor.system("bench"))
    return time.perf_counter() - started


# --- fanout: campaign_launch against a plain COPY of the same rows -------------------------------


def copy_rows(workspace, sender, numbers: list[str]) -> tuple[list, list]:
    """The message and event rows campaign_launch writes for these numbers (same columns)."""
    from campaigns.messages import MESSAGE_COLUMNS
    from messaging.pricing import rate_for
    from workspaces import clock
    from workspaces.ids import new_id

    campaign_id, now = new_id("cmp"), clock.now()
    price = rate_for(workspace=workspace, country="US")
    queued = json.dumps({"campaign": campaign_id})
    messages, events = [], []
    for phone in numbers:
        mid = new_id("msg")
        body = BODY.replace("{{first_name}}", "Ann")
        messages.append(
            (
                mid,
                workspace.pk,
                False,
                "outbound",
                "queued",
                phone,
                sender.number,
                body,
                "marketing",
                1,
                "GSM-7",
                price,
                "USD",
                price,
                campaign_id,
                "simulator",
                "{}",
                None,
                0,
                "",
                False,
                now,
                now,
            )
        )
        passed = json.dumps(
            {
                "sender": sender.number,
                "campaign": campaign_id,
                "country": "US",
                "suppression": "none active",
                "consent": {
                    "id": new_id("con"),
                    "method": "web_form",
                    "captured_at": now.isoformat(),
                },
            }
        )
        events += [
            (workspace.pk, mid, "policy_passed", now, passed),
            (workspace.pk, mid, "queued", now, queued),
        ]
    assert len(messages[0]) == len(MESSAGE_COLUMNS)
    return messages, events


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).translate(COPY_ESCAPES)


def copy_text(rows: list, batch: int = 5000) -> list[str]:
    """The rows as COPY text, in chunks of `batch` lines (all of it made before the clock)."""
    lines = ["\t".join(map(copy_field, row)) + "\n" for row in rows]
    return ["".join(lines[i : i + batch]) for i in range(0, len(lines), batch)]


def copy_seconds(messages: list, events: list) -> float:
    """Seconds for a plain COPY of the rows into messaging_message and _messageevent, and commit."""
    from campaigns.messages import EVENT_COLUMNS, MESSAGE_COLUMNS
    from messaging.models import Message, MessageEvent

    tables = [
        (Message, MESSAGE_COLUMNS, copy_text(messages)),
        (MessageEvent, EVENT_COLUMNS, copy_text(events)),
    ]
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        started = time.perf_counter()
        for model, columns, chunks in tables:
            sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with conn.cursor() as cur, cur.copy(sql) as copy:
                for chunk in chunks:
                    copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def fanout(tag: str) -> dict:
    """Launch to 100,000 contacts (1 % suppressed, 1 % without consent) vs COPY of 100,000."""
    from campaigns.models import Campaign
    from messaging.models import Message

    workspace = workspace_new(f"fanout {tag}")
    sender = short_code(workspace, 100)
    numbers = phones(FANOUT_CONTACTS)
    size = FANOUT_CONTACTS // 100
    audience(workspace, numbers, consent=numbers[:-size], suppressed=numbers[:size])
    analyze()
    campaign = campaign_new(workspace, sender)
    rows = copy_rows(workspace, sender, numbers)  # built before the clock, like launch's inputs
    baseline = copy_seconds(*rows)
    seconds = launch(campaign)
    launched = Campaign.objects.get(pk=campaign.pk)
    messages = Message.objects.filter(campaign_id=campaign.pk).count()
    retire([campaign.pk])
    return {
        "recipients": launched.recipients,
        "messages": messages,
        "skipped": launched.skipped,
        "launch_seconds": seconds,
        "copy_rows": len(rows[0]),
        "copy_events": len(rows[1]),
        "copy_seconds": baseline,
    }


def retire(campaign_ids) -> int:
    """Mark campaigns stopped so no later worker run pumps them; their unbooked messages stay
    queued with no due time, which nothing but a pump picks up. Not campaign_stop: on 98,000
    messages it runs for many minutes (see the report of this benchmark)."""
    from campaigns.models import Campaign
    from workspaces import clock

    stopped = Campaign.objects.filter(pk__in=campaign_ids)
    return stopped.update(status=Campaign.STOPPED, stopped_at=clock.now())


# --- broker, pacing: a campaign through a real worker and beat ---------------------------------


def park_others(workspace) -> dict:
    """Keep the other benchmarks' unsent messages away from this worker: their campaigns are
    retired and messages the sweeper would hand to the worker are made due tomorrow, so the
    worker sends (and publishes for) this campaign only."""
    from campaigns.models import Campaign
    from messaging.models import Message, Status
    from workspaces import clock

    live = (Campaign.SCHEDULED, Campaign.RUNNING, Campaign.PAUSED)
    others = Campaign.objects.filter(status__in=live).exclude(workspace_id=workspace.pk)
    retired = retire(list(others.values_list("pk", flat=True)))
    due = Message.objects.filter(status__in=(Status.QUEUED, Status.SCHEDULED), due_at__isnull=False)
    parked = due.exclude(workspace_id=workspace.pk).update(due_at=clock.now() + timedelta(days=1))
    return {"campaigns_retired": retired, "messages_parked": parked}


def worker_campaign(tag: str, label: str, count: int, mps: int):
    """A launched-ready campaign to `count` consenting contacts from a short code at `mps`."""
    workspace = workspace_new(f"{label} {tag}")
    sender = short_code(workspace, mps)
    numbers = phones(count)
    audience(workspace, numbers, consent=numbers, suppressed=[])
    analyze()  # else the launch's consent probes scan the workspace's consents, one per contact
    parked = park_others(workspace)
    return campaign_new(workspace, sender), sender, parked


def campaign_status(campaign_id: str) -> str:
    """The campaign's status now."""
    from campaigns.models import Campaign

    return Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()


def submission_times(sender) -> list[float]:
    """When the provider (the simulator's ledger) got each of the sender's messages, in order."""
    from messaging.providers.simulator.models import SimulatorSubmission

    ledger = SimulatorSubmission.objects.filter(from_number=sender.number)
    return sorted(t.timestamp() for t in ledger.values_list("created_at", flat=True))


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


# --- fairness: one workspace's API sends while another workspace broadcasts ---------------------


def api_workspace(tag: str):
    """Workspace A: a 100/s short code and a live token of its owner. (token secret, sender)"""
    from workspaces.audit import Actor
    from workspaces.models import Membership
    from workspaces.scopes import ALL_SCOPES
    from workspaces.services import token_create

    workspace = workspace_new(f"fairness A {tag}")
    sender = short_code(workspace, 100)
    owner = Membership.objects.get(workspace=workspace)
    secret = token_create(
        creator=owner, name="bench", scopes=sorted(ALL_SCOPES), actor=Actor.system("bench")
    )[1]
    return secret, sender


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
        "recipients": count,
        "idle": summary(idle),
        "busy": summary(busy),
        "idle_p95": p95(idle),
        "busy_p95": p95(busy),
        "broadcast_submissions_while_busy": broadcast,
        "broadcast_per_s": round(broadcast / busy_seconds, 1),
        "busy_seconds": round(busy_seconds, 1),
        "launch_seconds": round(launch_seconds, 2),
        "campaign_status_after_busy": status,
        "campaign_queued_after_busy": left,
        **parked,
    }


def main(kind: str, tag: str, *args: str) -> dict:
    """Set Django up and run one measurement."""
    django.setup()
    runs = {"fanout": fanout, "broker": broker, "pacing": pacing, "fairness": fairness}
    return runs[kind](tag, *(int(a) for a in args))


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
