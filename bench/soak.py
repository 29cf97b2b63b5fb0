"""`make soak`: the embedded default under steady load for a long while (issue 11's acceptance).

Starts `make run` in a var folder of its own, creates a short code and two webhook endpoints on
two local verifying receivers (one subscribed to every message.* event, one to
message.delivered), then sends SOAK_RATE messages a second (default 20) for SOAK_MINUTES
(default 30) from a few clients: mostly singles, some batches, unique bodies, plain recipients
and a small share of the simulator's failure numbers (CONTRACT §5), 429s waited out. Logs a line
a minute. Passes when, at the end, every message is final within 5 minutes, every delivered
message's webhook reached both receivers, the webhook lag is under 60 s, no process of `make run`
exited and nothing answered 5xx. Writes var/bench/soak.json; exits 1 on failure.
"""

import contextlib
import json
import os
import sqlite3
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from .live import (
    ROOT,
    Api,
    LiveFailed,
    MakeRun,
    Receiver,
    health,
    health_ok,
    port_in_use,
    wait_until,
)
from .load import recipients

MINUTES = float(os.environ.get("SOAK_MINUTES") or 30)
RATE = float(os.environ.get("SOAK_RATE") or 20)
CLIENTS = 4
BATCH_EVERY, BATCH_SIZE = 20, 10  # each client's every 20th request is a batch of 10
FAILURE_EVERY = 50  # one single in 50 goes to a simulator outcome number, each number once
MAGIC = ("0003", "0005", "0006", "0007", "0429", "0500")  # CONTRACT §5
AREAS = ("212", "312", "617", "646", "718", "773", "917", "305")
SHORT_CODE = "72632"
# Every message.* event of CONTRACT §8, for the endpoint that takes them all.
STATUS_EVENTS = ["queued", "sent", "delivered", "undelivered", "failed", "canceled", "received"]
MESSAGE_EVENTS = [f"message.{status}" for status in STATUS_EVENTS]
FINAL_WITHIN, WEBHOOKS_WITHIN, LAG_LIMIT = 300, 120, 60.0
OUT = ROOT / "var" / "bench" / "soak.json"


def say(line: str) -> None:
    print(line, flush=True)


class Peek:
    """Counts read straight from `make run`'s SQLite file, read-only (the API lists, it does
    not count): messages by status, and pending webhook deliveries per endpoint."""

    def __init__(self, path):
        self.path = path

    def query(self, sql: str) -> list[tuple]:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def statuses(self) -> dict[str, int]:
        rows = self.query(
            "SELECT status, count(*) FROM messaging_message "
            "WHERE direction = 'outbound' GROUP BY status"
        )
        return dict(sorted(rows))

    def pending(self) -> dict[str, tuple[int, float]]:
        """endpoint id → (pending deliveries, age in seconds of the oldest)."""
        rows = self.query(
            "SELECT endpoint_id, count(*), min(created_at) FROM "
            "webhooks_webhookdelivery WHERE status = 'pending' GROUP BY endpoint_id"
        )
        now = time.time()
        return {e: (n, now - as_epoch(oldest)) for e, n, oldest in rows}


def as_epoch(stored: str) -> float:
    """A datetime as Django stores it in SQLite (UTC, no offset) as epoch seconds."""
    moment = datetime.fromisoformat(stored)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class Load:
    """CLIENTS threads sending `rate` messages a second in all through `api` until stopped."""

    def __init__(self, api: Api, rate: float, tag: str):
        self.api, self.tag = api, tag
        self.interval = CLIENTS / rate  # seconds per message, for each client
        self.pool = recipients(SHORT_CODE)  # +1 415 555 xxxx without the simulator's endings
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.refused: Counter = Counter()
        self.errors: list[str] = []
        self.magic = 0
        self.threads = [
            threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(CLIENTS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(120)

    def recipient(self, client: int, n: int) -> str:
        """A plain number, or now and then a simulator outcome number never used before."""
        if n % FAILURE_EVERY == 0:
            with self.lock:
                k, self.magic = self.magic, self.magic + 1
            place = k // len(MAGIC)
            exchange = 200 + place // len(AREAS)
            return f"+1{AREAS[place % len(AREAS)]}{exchange:03d}{MAGIC[k % len(MAGIC)]}"
        return self.pool[(client * 2503 + n * 7) % len(self.pool)]

    def message(self, client: int, n: int, item: int = 0) -> dict:
        to = (
            self.recipient(client, n)
            if not item
            else self.pool[(client * 997 + n + item) % len(self.pool)]
        )
        return {
            "to": to,
            "from": SHORT_CODE,
            "body": f"Soak {self.tag} c{client} n{n} i{item}: your code is {n:06d}.",
        }

    def send(self, client: int, n: int) -> int:
        """One request (a single or a batch); the number of messages it offered."""
        key = {"Idempotency-Key": f"soak-{self.tag}-{client}-{n}"}
        if n % BATCH_EVERY:
            answer = self.api.call(
                "POST", "/api/v1/messages", 202, headers=key, json=self.message(client, n)
            )
            with self.lock:
                self.ids.append(answer["id"])
            return 1
        items = [self.message(client, n, i + 1) for i in range(BATCH_SIZE)]
        answer = self.api.call(
            "POST", "/api/v1/messages/batch", 200, headers=key, json={"messages": items}
        )
        with self.lock:
            for item in answer["results"]:
                if "message" in item:
                    self.ids.append(item["message"]["id"])
                else:
                    self.refused[item["error"]["code"]] += 1
        return BATCH_SIZE

    def client(self, index: int) -> None:
        n, due = 0, time.monotonic() + index * self.interval / CLIENTS
        while not self.stopping.wait(max(0.0, due - time.monotonic())):
            n += 1
            try:
                count = self.send(index, n)
            except LiveFailed as exc:  # counted; the soak goes on and fails at the end
                with self.lock:
                    self.errors.append(str(exc)[:300])
                count = 1
            # Paced; after a long wait (429s) it catches up at most 5 s of sends.
            due = max(due + count * self.interval, time.monotonic() - 5)

    def accepted(self) -> int:
        with self.lock:
            return len(self.ids)


class Soak:
    """The run: setup, the load with a line a minute, the checks at the end."""

    def __init__(self, run: MakeRun):
        self.run, self.peek = run, Peek(run.var / "tern.sqlite3")
        self.receivers = {"all": Receiver(set(MESSAGE_EVENTS)), "delivered": Receiver()}
        self.minutes: list[dict] = []
        self.failures: list[str] = []

    def set_up(self) -> None:
        """The short code and the two endpoints, each on its receiver."""
        self.api = Api(self.run.token())
        self.api.short_code(SHORT_CODE)
        self.endpoints = {}
        for name, events in (("all", MESSAGE_EVENTS), ("delivered", ["message.delivered"])):
            receiver = self.receivers[name]
            endpoint = self.api.call(
                "POST",
                "/api/v1/webhook-endpoints",
                201,
                json={"url": receiver.url, "events": events},
            )
            receiver.start_verifying(endpoint["secret"])
            self.endpoints[endpoint["id"]] = name

    def minute(self, load: Load, index: int | str, started: float) -> dict:
        """One minute's figures, logged as one line."""
        now = time.time()
        pending = {self.endpoints.get(e, e): v for e, v in self.peek.pending().items()}
        lags = {n: r.max_lag(now - 60) for n, r in self.receivers.items()}
        body = health() or {}
        figures = {
            "minute": index,
            "elapsed_s": round(time.monotonic() - started),
            "accepted": load.accepted(),
            "statuses": self.peek.statuses(),
            "pending_webhooks": {n: pending.get(n, (0, 0.0))[0] for n in self.receivers},
            "oldest_pending_s": {n: round(pending.get(n, (0, 0.0))[1], 1) for n in self.receivers},
            "lag_max_last_minute_s": {n: v if v is None else round(v, 1) for n, v in lags.items()},
            "loadavg": [round(x, 2) for x in os.getloadavg()],
            "processes": dict(self.run.processes()),
            "health": body,
            "died": len(self.run.died()),
            "answers": dict(self.api.answers),
            "client_errors": len(load.errors),
        }
        statuses = " ".join(f"{s} {c}" for s, c in figures["statuses"].items())
        webhooks = ", ".join(
            f"{n} {figures['pending_webhooks'][n]} pending (oldest "
            f"{figures['oldest_pending_s'][n]:.0f} s) lag "
            f"{'-' if lags[n] is None else f'{lags[n]:.1f}'} s"
            for n in self.receivers
        )
        say(
            f"[soak {index:>2}] accepted {figures['accepted']} | {statuses} | webhooks {webhooks}"
            f" | load {' '.join(map(str, figures['loadavg']))} | processes "
            f"{' '.join(f'{k} {v}' for k, v in sorted(figures['processes'].items()))} | health "
            f"{','.join(f'{k}:{v}' for k, v in body.items()) or 'no answer'} | died "
            f"{figures['died']}, 429 x{self.api.answers[429]}, errors {len(load.errors)}"
        )
        self.minutes.append(figures)
        return figures

    def load(self, rate: float, minutes: float) -> Load:
        """Send for `minutes`, a line a minute; the load, stopped."""
        load = Load(self.api, rate, f"{os.getpid():x}")
        started = time.monotonic()
        load.start()
        for index in range(1, int(minutes) + 1):
            time.sleep(max(0.0, started + 60 * index - time.monotonic()))
            self.minute(load, index, started)
        time.sleep(max(0.0, started + 60 * minutes - time.monotonic()))
        load.stop()
        self.sending_s = time.monotonic() - started
        self.at_end = self.minute(load, "end", started)
        return load

    def check(self, load: Load) -> dict:
        """The end: final within 5 minutes, webhooks on both receivers, lag, deaths, 5xx."""
        for name in self.receivers:
            lag = self.at_end["lag_max_last_minute_s"][name] or 0.0
            oldest = self.at_end["oldest_pending_s"][name]
            if max(lag, oldest) >= LAG_LIMIT:
                self.failures.append(
                    f"webhook lag at the end on '{name}': {lag} s received, "
                    f"oldest pending {oldest} s (limit {LAG_LIMIT:.0f} s)"
                )
        ended = time.monotonic()
        try:
            wait_until(
                "every message final",
                lambda: (
                    not any(
                        self.peek.statuses().get(s)
                        for s in ("scheduled", "queued", "sending", "sent")
                    )
                ),
                FINAL_WITHIN,
                interval=2,
            )
        except LiveFailed as exc:
            self.failures.append(f"{exc}: {self.peek.statuses()}")
        final_s = time.monotonic() - ended
        messages = self.api.listing("/api/v1/messages", direction="outbound")
        status = {m["id"]: m["status"] for m in messages}
        lost = [
            i
            for i in load.ids
            if status.get(i) not in ("delivered", "undelivered", "failed", "canceled")
        ]
        if lost:
            self.failures.append(f"{len(lost)} accepted messages not final, e.g. {lost[:5]}")
        delivered = {i for i, s in status.items() if s == "delivered"}
        missing = self.webhooks_missing(delivered)
        for name, ids in missing.items():
            if ids:
                self.failures.append(
                    f"receiver '{name}': no message.delivered for {len(ids)} "
                    f"delivered messages, e.g. {sorted(ids)[:5]}"
                )
        for name, receiver in self.receivers.items():
            if receiver.bad or receiver.unexpected:
                self.failures.append(
                    f"receiver '{name}': bad signatures {receiver.bad[:3]}, "
                    f"unexpected events {receiver.unexpected[:3]}"
                )
        if load.errors:
            self.failures.append(f"{len(load.errors)} client errors, e.g. {load.errors[:3]}")
        return {
            "final_after_sending_s": round(final_s, 1),
            "outbound": len(messages),
            "statuses": dict(Counter(status.values())),
            "delivered": len(delivered),
            "missing_webhooks": {n: len(v) for n, v in missing.items()},
            "events_received": {
                n: dict(Counter(r.events.values())) for n, r in self.receivers.items()
            },
            "deliveries_received": {n: r.deliveries for n, r in self.receivers.items()},
            "batch_items_refused": dict(load.refused),
        }

    def webhooks_missing(self, delivered: set[str]) -> dict[str, set[str]]:
        """The delivered messages each receiver has no message.delivered for, after waiting."""

        def missing():
            found = {}
            for name, receiver in self.receivers.items():
                with receiver.lock:
                    found[name] = delivered - receiver.delivered.keys()
            return found

        with contextlib.suppress(LiveFailed):
            wait_until("webhooks", lambda: not any(missing().values()), WEBHOOKS_WITHIN, 2)
        return missing()


def main() -> int:
    if port_in_use():
        print("soak: 127.0.0.1:8000 is taken (another make run?)", file=sys.stderr)
        return 1
    run = MakeRun("tern-soak-")
    soak = Soak(run)
    report = {
        "minutes": MINUTES,
        "rate": RATE,
        "clients": CLIENTS,
        "var": str(run.var),
        "started_at": datetime.now(UTC).isoformat(),
    }
    say(f"soak: {MINUTES:g} min at {RATE:g}/s on make run in {run.var} (log make-run.log there)")
    run.start()
    try:
        wait_until("/healthz all ok", health_ok, 240)
        soak.set_up()
        load = soak.load(RATE, MINUTES)
        report["accepted"] = load.accepted()
        report["offered_per_s"] = round(load.accepted() / soak.sending_s, 2)
        report["end"] = soak.check(load)
        report["answers"] = {str(code): n for code, n in sorted(soak.api.answers.items())}
        if run.exited():
            soak.failures.append("make run exited")
    except LiveFailed as exc:
        soak.failures.append(str(exc))
    finally:
        died, processes = run.died(), dict(run.processes())
        run.stop()
        for receiver in soak.receivers.values():
            receiver.stop()
    errors = run.server_errors()
    if died:
        soak.failures.append(f"{len(died)} process exits: {died[:3]}")
    if errors:  # a 5xx a client saw is one of its errors too
        soak.failures.append(f"{len(errors)} 5xx in the access log: {errors[:3]}")
    report.update(
        processes_at_end=processes,
        per_minute=soak.minutes,
        failures=soak.failures,
        passed=not soak.failures,
        ended_at=datetime.now(UTC).isoformat(),
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1))
    verdict = "passed" if not soak.failures else "FAILED: " + "; ".join(soak.failures)
    say(f"soak: {verdict} ({report.get('accepted', 0)} accepted; {OUT})")
    return 0 if not soak.failures else 1


if __name__ == "__main__":
    sys.exit(main())
