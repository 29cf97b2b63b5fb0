"""The bench's world: a database, a migrated schema, a workspace and a gunicorn serving both."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
RUN_DIR = BENCH_DIR / "run"  # the server's TERN_VAR_DIR: secret key, filesystem broker
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Two processes for two cores; four threads each overlap the waits on PostgreSQL (every send is
# a few round trips and a commit), so 8 requests can be in flight for the 4 client processes.
# No control socket: gunicorn 27 would otherwise share ~/.gunicorn/gunicorn.ctl with any other.
GUNICORN_ARGS = ("--workers", "2", "--threads", "4", "--timeout", "120", "--no-control-socket")


class BenchError(RuntimeError):
    """The bench could not measure what it meant to."""


@dataclass
class Server:
    """A running bench server and what a client needs to call it."""

    url: str
    pid: int  # gunicorn's master
    token: str
    sender: str
    workspace_id: str
    database_url: str
    database: str  # "postgresql" or "sqlite"


def is_postgres(url: str) -> bool:
    """Whether a database URL points at PostgreSQL."""
    return url.startswith(("postgres://", "postgresql://"))


@contextmanager
def database():
    """Yield (url, kind): DATABASE_URL if PostgreSQL, else a fresh database, else SQLite."""
    given = os.environ.get("DATABASE_URL", "")
    if is_postgres(given):
        yield given, "postgresql"
        return
    name = f"tern_bench_{os.getpid()}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        path = BENCH_DIR / "bench.sqlite3"
        for stale in BENCH_DIR.glob("bench.sqlite3*"):
            stale.unlink()
        yield f"sqlite:///{path}", "sqlite"
        return
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}", "postgresql"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BENCH_REDIS = "redis://127.0.0.1:6379/15"


def broker_url() -> str:
    """Production's broker (Redis, a database of its own, emptied first) when one answers;
    else the embedded default's filesystem queue in RUN_DIR."""
    try:
        client = redis.Redis.from_url(BENCH_REDIS, socket_connect_timeout=1)
        client.flushdb()
    except redis.RedisError:
        return "filesystem://"
    return BENCH_REDIS


def server_env(database_url: str) -> dict:
    """The environment of manage.py and gunicorn: production-like, embedded broker, no worker."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CELERY_TASK_ALWAYS_EAGER", "PYTEST_VERSION")
    }
    env.update(
        DATABASE_URL=database_url,
        TERN_VAR_DIR=str(RUN_DIR),
        CELERY_BROKER_URL=broker_url(),  # no worker runs: enqueued tasks pile up there
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        ROOT_URLCONF="bench.urls",
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict, *args: str) -> str:
    """Run manage.py with the bench environment; its stdout, or BenchError with its stderr."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise BenchError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def bootstrap(env: dict) -> dict:
    """Migrate, create the Bench workspace, lift its rate limit to 500/s and drop any spend cap."""
    manage(env, "migrate", "--noinput", "-v0")
    out = manage(env, "create_workspace", "--name", "Bench", "--owner-email", "bench@example.test")
    created = json.loads(out.strip().splitlines()[-1])
    manage(
        env,
        "shell",
        "-c",
        "from workspaces.models import Workspace; "
        f"Workspace.objects.filter(pk={created['workspace']['id']!r})"
        ".update(rate_limit_per_second=500, spend_limit=None)",
    )
    return created


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, deadline: float = 30.0) -> None:
    """Poll /healthz until it answers 200, the server dies, or the deadline passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(
                f"gunicorn exited with {proc.returncode}; see {BENCH_DIR}/gunicorn.log"
            )
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise BenchError(f"gunicorn not ready after {deadline:.0f} s; see {BENCH_DIR}/gunicorn.log")


def worker_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by each gunicorn worker (Linux /proc; empty elsewhere)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        stats = {int(c): Path(f"/proc/{c}/stat").read_text() for c in children}
    except OSError:
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    fields = {c: stat.rsplit(")", 1)[1].split() for c, stat in stats.items()}
    return {c: (int(f[11]) + int(f[12])) / ticks for c, f in fields.items()}  # utime + stime


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if gunicorn has not gone within 10 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def bench_server():
    """Yield a Server: database, schema, workspace, gunicorn; everything torn down afterwards."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    with database() as (database_url, kind):
        env = server_env(database_url)
        created = bootstrap(env)
        port = free_port()
        with (BENCH_DIR / "gunicorn.log").open("w") as log:
            command = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
            proc = subprocess.Popen(
                [*command, *GUNICORN_ARGS, "--bind", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                url = f"http://127.0.0.1:{port}"
                wait_ready(url, proc)
                yield Server(
                    url=url,
                    pid=proc.pid,
                    token=created["tokens"]["live"],
                    sender=created["sender"],
                    workspace_id=created["workspace"]["id"],
                    database_url=database_url,
                    database=kind,
                )
            finally:
                stop(proc)
