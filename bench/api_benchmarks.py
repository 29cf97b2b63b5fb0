"""The API benchmarks on the bench server: single sends, 1,000-message batches (against a COPY of
as many rows) and webhook deliveries."""

import json
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import requests

from workspaces.ids import new_id

from . import load
from .harness import BenchError, Server, server_env, worker_cpu
from .measure import MeasuredErrors, check_errors, child_json, non_2xx, result

CLIENTS, WARMUP, DURATION = 4, 2.0, 8.0
BATCH_SIZE, MAX_BATCHES, BATCH_SECONDS = 1000, 5, 15.0


def send_api(server: Server, tag: str) -> dict:
    """POST /api/v1/messages vs a no-op view behind the same auth, throttle and middleware."""
    pool = load.recipients(server.sender)
    host_load = round(os.getloadavg()[0], 2)  # other work on the box skews every figure
    counts, cpu = {}, {}
    for kind, path in (("noop", "/bench/noop"), ("api", "/api/v1/messages")):
        before = worker_cpu(server.pid)
        counts[kind] = load.run(
            server.url + path,
            server.token,
            kind,
            tag,
            pool,
            clients=CLIENTS,
            warmup=WARMUP,
            duration=DURATION,
        )
        after = worker_cpu(server.pid)
        cpu[kind] = [round(t - before.get(w, 0.0), 1) for w, t in sorted(after.items())]
    ok = {kind: load.ok_count(c) for kind, c in counts.items()}
    errors = {kind: non_2xx(c) for kind, c in counts.items()}
    note = {
        "database": server.database,
        "clients": CLIENTS,
        "seconds": DURATION,
        "accepted": ok["api"],
        "non_2xx": errors["api"],
        "baseline_non_2xx": errors["noop"],
        "host_load_1m": host_load,
        "server_worker_cpu_s": cpu,  # per gunicorn worker, both phases: shows an uneven split
    }
    print(f"send_api: {json.dumps(note)}")
    check_errors("send_api baseline (noop)", ok["noop"], errors["noop"])
    check_errors("send_api", ok["api"], errors["api"])
    return result(ok["api"] / DURATION, ok["noop"] / DURATION, "msg/s", note)


def post_batches(server: Server, tag: str) -> tuple[int, dict, float]:
    """Sequential 1,000-message batches for up to 15 s: (accepted, error codes, seconds)."""
    pool = load.recipients(server.sender)
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    )
    url = f"{server.url}/api/v1/messages/batch"

    def body(batch: int, size: int) -> str:
        """One batch request, serialised ahead of the clock."""
        return json.dumps(
            {"messages": [load.message("batch", tag, batch, n, pool) for n in range(size)]}
        )

    session.post(url, data=body(999, 50), timeout=120)  # warm-up, not counted
    accepted, errors, elapsed = 0, Counter(), 0.0
    for batch in range(MAX_BATCHES):
        payload = body(batch, BATCH_SIZE)
        started = time.perf_counter()
        response = session.post(url, data=payload, timeout=120)
        elapsed += time.perf_counter() - started
        if response.status_code != 200:
            errors[f"http_{response.status_code}"] += BATCH_SIZE
        else:
            for item in response.json()["results"]:
                if "message" in item:
                    accepted += 1
                else:
                    errors[item["error"]["code"]] += 1
        if elapsed >= BATCH_SECONDS:
            break
    return accepted, dict(errors), elapsed


def message_columns(conn: psycopg.Connection) -> list[tuple[str, bool]]:
    """(name, nullable) of messaging_message's columns, in table order."""
    rows = conn.execute(
        "SELECT column_name, is_nullable = 'YES' FROM information_schema.columns"
        " WHERE table_name = 'messaging_message' AND table_schema = current_schema()"
        " ORDER BY ordinal_position"
    ).fetchall()
    return [(name, nullable) for name, nullable in rows]


def message_row(server: Server, n: int, now: datetime) -> dict:
    """The columns message_send writes for one queued US message (NULL for the rest)."""
    price = Decimal("0.0079")
    return {
        "id": new_id("msg"),
        "workspace_id": server.workspace_id,
        "test": False,
        "direction": "outbound",
        "status": "queued",
        "to_number": f"+1212555{n % 10000:04d}",
        "from_number": server.sender,
        "body": f"Tern bench copy n{n:07d}: your code is 482913.".ljust(load.BODY_CHARS, "."),
        "category": "transactional",
        "segments": 1,
        "encoding": "GSM-7",
        "price": price,
        "currency": "USD",
        "reserved": price,
        "campaign_id": "",
        "provider": "simulator",
        "metadata": "{}",
        "due_at": now + timedelta(seconds=90),
        "attempts": 0,
        "review": "",
        "system_reply": False,
        "created_at": now,
        "updated_at": now,
    }


def copy_rate(server: Server, count: int) -> float:
    """Rows per second for one COPY of `count` message rows into messaging_message (and commit)."""
    with psycopg.connect(server.database_url) as conn:
        columns = message_columns(conn)
        sample = message_row(server, 0, datetime.now(UTC))
        missing = [name for name, nullable in columns if not nullable and name not in sample]
        if missing:
            raise BenchError(f"COPY baseline lacks NOT NULL columns: {missing}")
        names = [name for name, _ in columns if name in sample]
        conn.commit()
        started = time.perf_counter()
        now = datetime.now(UTC)
        sql = f"COPY messaging_message ({', '.join(names)}) FROM STDIN"
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for n in range(count):
                row = message_row(server, n, now)
                copy.write_row([row[name] for name in names])
        conn.commit()
        return count / (time.perf_counter() - started)


def send_batch(server: Server, tag: str) -> dict:
    """POST /api/v1/messages/batch (1,000 a request) vs COPY of as many message rows."""
    host_load = round(os.getloadavg()[0], 2)
    accepted, errors, elapsed = post_batches(server, tag)
    note = {
        "database": server.database,
        "host_load_1m": host_load,
        "batch_size": BATCH_SIZE,
        "accepted": accepted,
        "seconds": round(elapsed, 2),
        "errors": errors,
    }
    print(f"send_batch: {json.dumps(note)}")
    check_errors("send_batch", accepted, errors)
    if server.database != "postgresql":
        note["baseline"] = "skipped: COPY needs PostgreSQL"
        return result(accepted / elapsed, None, "msg/s", note)
    note["baseline"] = "COPY of message rows only (no events, guard, spend or broker)"
    return result(
        accepted / elapsed, copy_rate(server, accepted + sum(errors.values())), "msg/s", note
    )


def webhook_delivery(server: Server, tag: str) -> dict:
    """Signed, logged webhook deliveries/s to a local receiver vs a plain requests loop."""
    env = {**server_env(server.database_url), "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true"}
    measured = child_json(
        "webhook_delivery", env, "bench.webhook_run", server.workspace_id, timeout=300
    )
    if measured["delivered"] != measured["count"]:
        raise MeasuredErrors(f"webhook_delivery: {measured['delivered']} of {measured['count']}")
    note = {
        "database": server.database,
        "deliveries": measured["count"],
        "host_load_1m": round(os.getloadavg()[0], 2),
        "baseline": "requests.post of the same bodies, a connection each, as Tern",
    }
    return result(measured["value"], measured["baseline"], "deliveries/s", note)
