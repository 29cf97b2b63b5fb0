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
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
RUN_DIR = BENCH_DIR / "run"  # the server's TERN_VAR_DIR: secret key, filesystem broker
ADMIN_DATABASE = "postgres"  # the maintenance database: where CREATE/DROP DATABASE are run
ADMIN_URL = f"postgresql://postgres@127.0.0.1:5432/{ADMIN_DATABASE}"
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


def with_path(url: str, path: str) -> str:
    """The URL with another path: another database of the same server, user and options."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{path}"))


def bench_database_name(given: str) -> str:
    """The bench's own database beside `given`: `<given>_bench`, or BENCH_DATABASE_NAME. It is
    dropped and created afresh, so it must name neither the given database nor one without
    "bench" in its name."""
    name = os.environ.get("BENCH_DATABASE_NAME") or f"{given}_bench"
    if name == given or "bench" not in name:
        raise BenchError(f"refusing to use database {name!r}: the bench drops its database")
    return name


@contextmanager
def fresh_postgres(admin_url: str, name: str):
    """Create database `name` afresh (a crashed run's copy is dropped first) on the server of
    `admin_url`; yield its URL; drop it afterwards."""
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
        admin.execute(drop)
        admin.execute(create)
    try:
        yield with_path(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
            admin.execute(drop)


@contextmanager
def fresh_sqlite():
    """Yield the URL of a new SQLite file under var/bench (never the one DATABASE_URL names);
    delete it afterwards, with a crashed run's copy before."""

    def remove() -> None:
        for path in BENCH_DIR.glob("bench.sqlite3*"):
            path.unlink()

    remove()
    try:
        yield f"sqlite:///{BENCH_DIR / 'bench.sqlite3'}"
    finally:
        remove()


@contextmanager
def database():
    """Yield (url, kind) of a database of the bench's own, never DATABASE_URL's: on PostgreSQL
    `<name>_bench` beside it; with no DATABASE_URL a throwaway one on 127.0.0.1 if a server
    answers; else (and for a SQLite DATABASE_URL) a fresh SQLite file under var/bench."""
    given = os.environ.get("DATABASE_URL", "")
    if is_postgres(given):
        name = bench_database_name(urlsplit(given).path.lstrip("/") or "postgres")
        with fresh_postgres(with_path(given, ADMIN_DATABASE), name) as url:
            yield url, "postgresql"
        return
    if not given:
        try:
            psycopg.connect(ADMIN_URL, connect_timeout=3).close()
        except psycopg.OperationalError:
            pass
        else:
            with fresh_postgres(ADMIN_URL, f"tern_bench_{os.getpid()}") as url:
                yield url, "postgresql"
            return
    with fresh_sqlite() as url:
        yield url, "sqlite"


REDIS_DATABASES = 16  # Redis's default number of databases


@dataclass(frozen=True)
class RedisPlan:
    """The bench's own Redis databases, none that REDIS_URL or CELERY_BROKER_URL names."""

    server_broker: str  # where the API's enqueued tasks pile up (no worker consumes them)
    worker_broker: str  # the campaign benchmarks' real worker's broker
    marks: str  # the bench's REDIS_URL: rate limits, pacing marks, locks


def redis_db(url: str) -> int:
    """The database number a redis:// URL names (0 by default)."""
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


@cache
def redis_plan() -> RedisPlan | None:
    """Three databases on the given Redis server (127.0.0.1:6379 by default), the highest
    numbers the given URLs do not use, emptied once; None when no Redis answers."""
    given = [os.environ.get(k, "") for k in ("REDIS_URL", "CELERY_BROKER_URL")]
    given = [u for u in given if u.startswith(("redis://", "rediss://"))]
    base = given[0] if given else "redis://127.0.0.1:6379/0"
    server = urlsplit(base).netloc
    taken = {redis_db(u) for u in given if urlsplit(u).netloc == server}
    free = [n for n in reversed(range(REDIS_DATABASES)) if n not in taken][:3]
    urls = [with_path(base, str(n)) for n in free]
    try:
        for url in urls:
            redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        return None
    return RedisPlan(*urls)


def server_env(database_url: str) -> dict:
    """The environment of manage.py and gunicorn: production-like, the bench's own database and
    Redis (or the embedded broker without Redis), no worker."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CELERY_TASK_ALWAYS_EAGER", "PYTEST_VERSION")
    }
    plan = redis_plan()
    env.update(
        DATABASE_URL=database_url,
        TERN_VAR_DIR=str(RUN_DIR),
        # No worker runs on this broker: enqueued tasks pile up there.
        CELERY_BROKER_URL=plan.server_broker if plan else "filesystem://",
        REDIS_URL=plan.marks if plan else "",
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


def wait_ready(url: str, proc: subprocess.Popen, log_name: str, deadline: float = 30.0) -> None:
    """Poll /healthz until it answers 200, the server dies, or the deadline passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(
                f"gunicorn exited with {proc.returncode}; see {BENCH_DIR}/{log_name}.log"
            )
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # still booting (a busy machine)
            pass
        time.sleep(0.1)
    raise BenchError(f"gunicorn not ready after {deadline:.0f} s; see {BENCH_DIR}/{log_name}.log")


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
def gunicorn(env: dict, log_name: str = "gunicorn"):
    """Start gunicorn with this environment on a free port (its log var/bench/<log_name>.log);
    yield (url, process) once /healthz answers; stop it afterwards."""
    port = free_port()
    with (BENCH_DIR / f"{log_name}.log").open("w") as log:
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
            wait_ready(url, proc, log_name)
            yield url, proc
        finally:
            stop(proc)


@contextmanager
def bench_server():
    """Yield a Server: database, schema, workspace, gunicorn; everything torn down afterwards."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    with database() as (database_url, kind):
        env = server_env(database_url)
        created = bootstrap(env)
        with gunicorn(env) as (url, proc):
            yield Server(
                url=url,
                pid=proc.pid,
                token=created["tokens"]["live"],
                sender=created["sender"],
                workspace_id=created["workspace"]["id"],
                database_url=database_url,
                database=kind,
            )
