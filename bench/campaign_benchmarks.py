"""The campaign benchmarks, each measured by bench.campaign_run in a child process: the fan-out,
broker publishes per recipient, a short code's pacing, and fairness beside a broadcast."""

import json
import os

from .harness import BenchError, Server, server_env
from .measure import LATENCY, busy_p95s, child_json, result, skipped
from .workers import worker_env

BROKER_RECIPIENTS = {"postgresql": 5000, "sqlite": 1000}  # 50 s at a short code's 100/s
PACING_RECIPIENTS, PACING_MPS = 400, 20
# BENCH_FAIRNESS_RECIPIENTS lowers the broadcast for a quick run: it must outlast the busy samples
# (200 sends at ~0.1-0.3 s while the short code sends 100/s: a few thousand recipients).
FAIRNESS_RECIPIENTS, FAIRNESS_SAMPLES, FAIRNESS_MIN_RATE = 100_000, 200, 20


def campaign_run(env: dict, *args, timeout: float = 900) -> dict:
    """One measurement of bench.campaign_run in a child process; its JSON answer."""
    return child_json(f"campaign_run {args[0]}", env, "bench.campaign_run", *args, timeout=timeout)


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
    idle_p95, busy_p95 = busy_p95s("fairness_broadcast", measured, "BENCH_FAIRNESS_RECIPIENTS")
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
        "latency": LATENCY,
        "baseline": "the same sends' p95 just before the launch, no broadcast",
    }
    print(f"fairness_broadcast: {json.dumps(note)}")
    return result(busy_p95, idle_p95, unit, note, digits=3)
