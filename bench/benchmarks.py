"""The benchmarks: each takes the running Server and returns one CONTRACT §1 result."""

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import requests

from workspaces.ids import new_id

from . import load
from .harness import BENCH_DIR, ROOT, BenchError, Server, manage, server_env, worker_cpu
from .workers import worker_env

CLIENTS, WARMUP, DURATION = 4, 2.0, 8.0
BATCH_SIZE, MAX_BATCHES, BATCH_SECONDS = 1000, 5, 15.0
MAX_ERROR_RATE = 0.01
BROKER_RECIPIENTS = {"postgresql": 5000, "sqlite": 1000}  # 50 s at a short code's 100/s
PACING_RECIPIENTS, PACING_MPS = 400, 20
# BENCH_FAIRNESS_RECIPIENTS lowers the broadcast for a quick run: it must outlast the busy samples
# (200 sends at ~0.1-0.3 s while the short code sends 100/s: a few thousand recipients).
FAIRNESS_RECIPIENTS, FAIRNESS_SAMPLES, FAIRNESS_MIN_RATE = 100_000, 200, 20


class MeasuredErrors(BenchError):
    """More than 1 % of the requests failed: the figure would measure errors, not sends."""


def result(value: float, baseline: float | None, unit: str, note: dict, digits: int = 1) -> dict:
    """One results.json entry; `ratio` is value / baseline."""
    return {
        "value": round(value, digits),
        "baseline": None if baseline is None else round(baseline, digits),
        "ratio": round(value / baseline, 3) if baseline else None,
        "unit": unit,
        "note": note,
    }


def skipped(unit: str, why: str, server: Server) -> dict:
    """The entry of a benchmark that could not run here, saying why."""
    note = {"database": server.database, "skipped": why}
    print(f"skipped: {why}")
    return {"value": None, "baseline": None, "ratio": None, "unit": unit, "note": note}


def non_2xx(counts: Counter) -> dict:
    """The answers that were not 2xx, by status (or exception name)."""
    return {str(k): v for k, v in counts.items() if not (isinstance(k, int) and 200 <= k < 300)}


def check_errors(what: str, ok: int, errors: dict) -> None:
    """Raise MeasuredErrors when errors exceed 1 % of the answers."""
    failed = sum(errors.values())
    if failed > MAX_ERROR_RATE * max(1, ok + failed):
        raise MeasuredErrors(f"{what}: {failed} errors out of {ok + failed} ({errors})")


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
    done = subprocess.run(
        [sys.executable, "-m", "bench.webhook_run", server.workspace_id],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise BenchError(f"webhook_delivery failed:\n{done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    if measured["delivered"] != measured["count"]:
        raise MeasuredErrors(f"webhook_delivery: {measured['delivered']} of {measured['count']}")
    note = {
        "database": server.database,
        "deliveries": measured["count"],
        "host_load_1m": round(os.getloadavg()[0], 2),
        "baseline": "requests.post of the same bodies, a connection each, as Tern",
    }
    return result(measured["value"], measured["baseline"], "deliveries/s", note)


def campaign_run(env: dict, *args, timeout: float = 900) -> dict:
    """One measurement of bench.campaign_run in a child process; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.campaign_run", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise BenchError(f"campaign_run {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fanout_100k(server: Server, tag: str) -> dict:
    """campaign_launch to 100,000 contacts vs a plain COPY of 100,000 messages + 200,000 events."""
    unit = "recipients/s"
    if server.database != "postgresql":
        return skipped(unit, "the fan-out writes with COPY: PostgreSQL only", server)
    host_load = round(os.getloadavg()[0], 2)
    measured = campaign_run(server_env(server.database_url), "fanout", tag)
    note = {
        "database": server.database,
        "host_load_1m": host_load,
        **measured,
        "baseline": "psycopg COPY of the rows launch writes (messages + 2 events each), built"
        " in Python before the clock; both per recipient",
    }
    print(f"fanout_100k: {json.dumps(note)}")
    value = measured["recipients"] / measured["launch_seconds"]
    return result(value, measured["copy_rows"] / measured["copy_seconds"], unit, note)


def broker_per_recipient(server: Server, tag: str) -> dict:
    """Publishes to the `bulk` queue, counted at the broker, per recipient of a real campaign."""
    unit = "publishes/recipient"
    env = worker_env(server.database_url)
    if env is None:
        return skipped(unit, "no Redis broker to count publishes at", server)
    recipients = BROKER_RECIPIENTS[server.database]
    measured = campaign_run(env, "broker", tag, recipients)
    if measured["sent"] != recipients:
        raise BenchError(f"broker_per_recipient: {measured['sent']} of {recipients} sent")
    note = {
        "database": server.database,
        "host_load_1m": round(os.getloadavg()[0], 2),
        "broker": env["CELERY_BROKER_URL"],
        **measured,
        "counted": "LPUSH to the `bulk` list in the broker's db, read from Redis MONITOR "
        "from before the launch until the campaign completed",
        "baseline": "one broker message per recipient (the naive design)",
    }
    print(f"broker_per_recipient: {json.dumps(note)}")
    return result(measured["bulk_publishes"] / recipients, 1.0, unit, note, digits=4)


def pacing(server: Server, tag: str) -> dict:
    """Provider submissions/s (simulator ledger) from a 20/s short code vs its configured 20/s."""
    unit = "msg/s"
    env = worker_env(server.database_url)
    if env is None:
        return skipped(unit, "no Redis for the worker's broker and pacing marks", server)
    measured = campaign_run(env, "pacing", tag, PACING_RECIPIENTS, PACING_MPS)
    if measured["submissions"] != PACING_RECIPIENTS:
        raise BenchError(f"pacing: {measured['submissions']} of {PACING_RECIPIENTS} submitted")
    note = {
        "database": server.database,
        "host_load_1m": round(os.getloadavg()[0], 2),
        "redis": env["REDIS_URL"],
        **measured,
        "baseline": "the sender's configured rate; value = (n-1) / (last - first)",
    }
    print(f"pacing: {json.dumps(note)}")
    return result(measured["rate"], PACING_MPS, unit, note, digits=2)


def fairness_broadcast(server: Server, tag: str) -> dict:
    """Workspace A's API send → `sent` p95 while workspace B's 100,000-recipient campaign runs
    through the split workers and beat, vs A's idle p95 measured just before (goal ratio ≤ 2)."""
    unit = "s"
    if server.database != "postgresql":
        return skipped(
            unit, "a broadcast through real workers beside API sends: PostgreSQL only", server
        )
    env = worker_env(server.database_url)
    if env is None:
        return skipped(unit, "no Redis for the workers' broker and pacing marks", server)
    recipients = int(os.environ.get("BENCH_FAIRNESS_RECIPIENTS") or FAIRNESS_RECIPIENTS)
    host_load = round(os.getloadavg()[0], 2)
    measured = campaign_run(env, "fairness", tag, recipients, FAIRNESS_SAMPLES, timeout=1800)
    if measured["campaign_status_after_busy"] != "running":
        raise BenchError(
            f"fairness_broadcast: the broadcast was "
            f"{measured['campaign_status_after_busy']} before the busy samples ended; "
            f"raise BENCH_FAIRNESS_RECIPIENTS"
        )
    idle_p95, busy_p95 = measured.pop("idle_p95"), measured.pop("busy_p95")
    note = {
        "database": server.database,
        "host_load_1m": host_load,
        "host_load_1m_after": round(os.getloadavg()[0], 2),
        **measured,
        "broker": env["CELERY_BROKER_URL"],
        "redis": env["REDIS_URL"],
        "broadcast_hardly_sending": measured["broadcast_per_s"] <= FAIRNESS_MIN_RATE,
        "workers": "worker-transactional (transactional,default,webhooks), worker-bulk (bulk, "
        "nice 19, SEND_THREADS=2), beat, as the Procfile",
        "latency": "from just before POST /api/v1/messages (202) to the sent_to_carrier "
        "event's time; sequential sends from a 100/s short code; p95 = "
        "statistics.quantiles(n=20)[-1]",
        "baseline": "the same sends' p95 just before the launch, no broadcast",
    }
    print(f"fairness_broadcast: {json.dumps(note)}")
    return result(busy_p95, idle_p95, unit, note, digits=3)


# fairness_embedded: a var folder of its own (SQLite, the folder broker), dropped after.
EMBEDDED_DIR = BENCH_DIR / "embedded"
EMBEDDED_RECIPIENTS, EMBEDDED_SAMPLES, EMBEDDED_B_RATE = 10_000, 100, 10.0
NOT_EMBEDDED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "PYTEST_VERSION",
)


def embedded_env() -> dict:
    """`make run`'s environment: nothing set but TERN_VAR_DIR, the bench's own folder."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_EMBEDDED}
    return {
        **env,
        "TERN_VAR_DIR": str(EMBEDDED_DIR),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def embedded_run(env: dict, *args, timeout: float) -> dict:
    """bench.embedded_run in a child process; its JSON answer. On a timeout it is asked to stop
    (SIGTERM: it stops the Procfile processes it started) before it is killed."""
    command = [sys.executable, "-m", "bench.embedded_run", *map(str, args)]
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.terminate()
        try:
            out, err = child.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
        raise BenchError(f"embedded_run: not done within {timeout:.0f} s:\n{err[-3000:]}") from None
    if child.returncode:
        raise BenchError(f"embedded_run failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def fairness_embedded(server: Server, tag: str) -> dict:
    """On the embedded default (SQLite, folder broker, the Procfile's processes; not the bench
    server): workspace A's API send → `sent` p95 while workspace B broadcasts to 10,000 and
    sends 10 messages/s through the API from 4 clients, vs A's idle p95 just before (goal
    ratio ≤ 2)."""
    recipients = int(os.environ.get("BENCH_EMBEDDED_RECIPIENTS") or EMBEDDED_RECIPIENTS)
    b_rate = float(os.environ.get("BENCH_EMBEDDED_B_RATE") or EMBEDDED_B_RATE)
    shutil.rmtree(EMBEDDED_DIR, ignore_errors=True)
    env = embedded_env()
    host_load = round(os.getloadavg()[0], 2)
    try:
        manage(env, "migrate", "--noinput", "-v0")
        measured = embedded_run(env, tag, recipients, EMBEDDED_SAMPLES, b_rate, timeout=1200)
    finally:
        shutil.rmtree(EMBEDDED_DIR, ignore_errors=True)
    if measured["campaign_status_after_busy"] != "running":
        raise BenchError(
            f"fairness_embedded: the broadcast was "
            f"{measured['campaign_status_after_busy']} before the busy samples ended; "
            f"raise BENCH_EMBEDDED_RECIPIENTS"
        )
    idle_p95, busy_p95 = measured.pop("idle_p95"), measured.pop("busy_p95")
    note = {
        "database": "sqlite",
        "broker": "folder://",
        "host_load_1m": host_load,
        "host_load_1m_after": round(os.getloadavg()[0], 2),
        **measured,
        "processes": "the Procfile's web, worker, bulk and beat as make run starts them",
        "latency": "from just before POST /api/v1/messages (202) to the sent_to_carrier "
        "event's time; sequential sends from a 100/s short code; p95 = "
        "statistics.quantiles(n=20)[-1]",
        "baseline": "the same sends' p95 just before B's launch, no load",
    }
    print(f"fairness_embedded: {json.dumps(note)}")
    return result(busy_p95, idle_p95, "s", note, digits=3)
