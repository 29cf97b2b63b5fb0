"""Run inside the embedded default's environment (`python -m bench.embedded_run TAG RECIPIENTS
SAMPLES B_RATE`, TERN_VAR_DIR a fresh folder, migrated; no DATABASE_URL, REDIS_URL or broker URL):
SQLite, the folder broker and the Procfile's own processes, the web one on a free port.
Workspace A's API send latency to `sent`, idle and while workspace B broadcasts to RECIPIENTS
and sends B_RATE messages a second through the API from a few clients. Prints one JSON line."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import django
import requests

from config.supervise import read_procfile

from .campaign_world import (
    audience,
    campaign_new,
    campaign_status,
    owner_token,
    phones,
    short_code,
    workspace_new,
)
from .fairness import api_workspace, figures, latencies
from .harness import BENCH_DIR, ROOT, BenchError, free_port
from .load import recipients
from .processes import stop_groups
from .workers import wait_for

B_CLIENTS = 4  # workspace B's concurrent API clients during the broadcast
B_BATCH_EVERY, B_BATCH_SIZE = 10, 20  # each client's every 10th request is a batch of 20
# B's clients together offer this many messages a second (BENCH_EMBEDDED_B_RATE): unpaced, they
# outrun the one transactional worker and every workspace's sends wait behind the backlog.
B_RATE = 10.0


@contextmanager
def procfile_processes(port: int):
    """Start every Procfile process as `make run` does (web on `port` instead of 8000, without
    gunicorn 27's shared control socket); a log each under var/bench; stop them all after."""
    procs = {}
    try:
        for process in read_procfile(str(ROOT / "Procfile")):  # as `make run` reads it
            name, command = process.name, process.command
            if name == "web":
                command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
                command += " --no-control-socket"
            with (BENCH_DIR / f"embedded-{name}.log").open("w") as log:
                procs[name] = subprocess.Popen(
                    ["/bin/sh", "-c", command],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        yield procs
    finally:
        stop_groups(list(procs.values()))


def alive(procs: dict) -> None:
    """BenchError naming any Procfile process that exited."""
    dead = [name for name, proc in procs.items() if proc.poll() is not None]
    if dead:
        raise BenchError(f"{', '.join(dead)} exited; see {BENCH_DIR}/embedded-*.log")


def healthy(url: str) -> bool:
    """/healthz says ok for database, broker, worker and scheduler."""
    try:
        body = requests.get(f"{url}/healthz", timeout=2).json()
    except (requests.RequestException, ValueError):
        return False
    return set(body.values()) == {"ok"}


class Load:
    """Workspace B's API clients: singles and now and then a batch from B's short code, paced
    to `rate` messages a second in all, honouring 429's Retry-After, until stopped."""

    def __init__(self, url: str, token: str, sender: str, label: str, rate: float):
        self.url, self.token, self.sender, self.label = url, token, sender, label
        self.interval = B_CLIENTS / rate  # seconds per message, for each client
        self.pool = recipients(sender)  # no simulator magic: no failures, no suppressions
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.accepted, self.answers, self.errors, self.dropped = 0, {}, [], []
        self.threads = [
            threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(B_CLIENTS)
        ]

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)

    def message(self, client: int, n: int, item: int = 0) -> dict:
        """A unique transactional send (duplicate detection never fires)."""
        to = self.pool[(client * 2503 + n * B_BATCH_SIZE + item) % len(self.pool)]
        return {
            "to": to,
            "from": self.sender,
            "body": f"Order {self.label} c{client} n{n} i{item} shipped.",
        }

    def client(self, index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        n, due = 0, time.monotonic() + index * self.interval / B_CLIENTS
        while not self.stopping.wait(max(0.0, due - time.monotonic())):
            n += 1
            if n % B_BATCH_EVERY:
                path, body, count = "messages", self.message(index, n), 1
            else:
                items = [self.message(index, n, i) for i in range(B_BATCH_SIZE)]
                path, body, count = "messages/batch", {"messages": items}, B_BATCH_SIZE
            due += count * self.interval
            try:
                response = session.post(f"{self.url}/api/v1/{path}", json=body, timeout=60)
            except requests.RequestException as exc:
                with self.lock:
                    self.dropped.append(type(exc).__name__)
                continue
            with self.lock:
                status = response.status_code
                self.answers[status] = self.answers.get(status, 0) + 1
                if status in (200, 202):
                    self.accepted += count
                elif status >= 500:
                    self.errors.append(f"{status} {response.text[:200]}")
            if status == 429:
                time.sleep(int(response.headers.get("Retry-After", "1")))


def fairness(tag: str, count: int, samples: int, b_rate: float) -> dict:
    """A's API send latency to `sent`, idle and while B broadcasts to `count` and sends through
    the API, every process as the Procfile starts it on the embedded default."""
    from django.conf import settings

    from messaging.models import Message, Status
    from messaging.providers.simulator.models import SimulatorSubmission

    b_workspace = workspace_new(f"embedded B {tag}")
    b_sender = short_code(b_workspace, 100)
    numbers = phones(count)
    audience(b_workspace, numbers, consent=numbers, suppressed=[])
    campaign = campaign_new(b_workspace, b_sender)
    b_token = owner_token(b_workspace)
    a_token, a_sender = api_workspace(tag)
    ledger = SimulatorSubmission.objects.filter(from_number=b_sender.number)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {a_token}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with procfile_processes(port) as procs:
        wait_for(lambda: alive(procs) or healthy(url), 120, "/healthz all ok")
        latencies(session, url, a_sender, 5, (), "warm-up")  # connections, imports
        idle = latencies(session, url, a_sender, samples, (), "idle")
        alive(procs)
        started = time.monotonic()
        launch = session.post(
            f"{url}/api/v1/campaigns/{campaign.pk}/launch",
            timeout=120,
            headers={"Authorization": f"Bearer {b_token}"},
        )
        if launch.status_code != 200:
            raise BenchError(f"B's launch answered {launch.status_code}: {launch.text[:500]}")
        launch_seconds = time.monotonic() - started
        wait_for(
            lambda: alive(procs) or ledger.count() > min(500, count // 20),
            120,
            "the broadcast's start",
        )
        sent_before, started = ledger.count(), time.monotonic()
        with Load(url, b_token, b_sender.number, f"{tag} busy", b_rate) as load:
            busy = latencies(session, url, a_sender, samples, (), "busy")
            backlog = len(list((settings.BROKER_DIR / "queue" / "transactional").iterdir()))
        busy_seconds = time.monotonic() - started
        alive(procs)
        broadcast = ledger.count() - sent_before
        status = campaign_status(campaign.pk)
        left = Message.objects.filter(campaign_id=campaign.pk, status=Status.QUEUED).count()
    if load.errors:
        raise BenchError(f"B's API clients met errors: {load.errors[:5]}")
    return {
        **figures(count, idle, busy, broadcast, busy_seconds),
        "b_api_clients": B_CLIENTS,
        "b_api_offered_per_s": b_rate,
        "b_api_accepted_while_busy": load.accepted,
        "b_api_per_s": round(load.accepted / busy_seconds, 1),
        "b_api_answers": {str(k): v for k, v in sorted(load.answers.items())},
        "b_api_connection_errors": load.dropped,
        "busy_seconds": round(busy_seconds, 1),
        "launch_seconds": round(launch_seconds, 2),
        "transactional_queue_at_busy_end": backlog,
        "campaign_status_after_busy": status,
        "campaign_queued_after_busy": left,
    }


def main(tag: str, count: str, samples: str, b_rate: str) -> dict:
    """Set Django up (the embedded default: this process's environment) and measure."""
    if any(os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")):
        raise BenchError(
            "embedded_run needs the embedded default: no DATABASE_URL, REDIS_URL "
            "or CELERY_BROKER_URL"
        )
    django.setup()
    return fairness(tag, int(count), int(samples), float(b_rate))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the Procfile processes too
    print(json.dumps(main(*sys.argv[1:])))
