"""The embedded benchmark: fairness on the embedded default (SQLite, the folder broker, the
Procfile's own processes) as `make run` starts it, not on the bench server."""

import json
import os
import shutil
import subprocess
import sys

from .harness import BENCH_DIR, ROOT, BenchError, Server, manage
from .measure import LATENCY, busy_p95s, result

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
    idle_p95, busy_p95 = busy_p95s("fairness_embedded", measured, "BENCH_EMBEDDED_RECIPIENTS")
    note = {
        "database": "sqlite",
        "broker": "folder://",
        "host_load_1m": host_load,
        "host_load_1m_after": round(os.getloadavg()[0], 2),
        **measured,
        "processes": "the Procfile's web, worker, bulk and beat as make run starts them",
        "latency": LATENCY,
        "baseline": "the same sends' p95 just before B's launch, no load",
    }
    print(f"fairness_embedded: {json.dumps(note)}")
    return result(busy_p95, idle_p95, "s", note, digits=3)
