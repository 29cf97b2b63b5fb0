"""Real Celery worker and beat processes for the campaign benchmarks, and a broker tap that counts
what they publish (no Django here: the runner that uses these has set it up)."""

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager

import redis

from .harness import BENCH_DIR, BenchError, redis_plan, server_env
from .processes import celery_args, start_group, stop_groups


def worker_env(database_url: str) -> dict | None:
    """The bench environment with the worker's broker (a Redis database of the bench's own, away
    from the server's, where the other benchmarks' dispatch tasks pile up: a worker there would
    send those too), emptied; None without Redis."""
    plan = redis_plan()
    if plan is None:
        return None
    try:
        redis.Redis.from_url(plan.worker_broker, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        return None
    return {
        **server_env(database_url),
        "CELERY_BROKER_URL": plan.worker_broker,
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def celery(label: str, *roles: str):
    """Start celery for each role (`worker`, `worker-transactional`, `worker-bulk`, `beat`; own
    process group, a log each under var/bench named after the label); stop them all."""
    procs = []
    try:
        for role in roles:
            with (BENCH_DIR / f"celery-{label}-{role}.log").open("w") as log:
                procs.append(start_group(celery_args(role), log))
        yield procs
    finally:
        stop_groups(procs)


def wait_for(
    condition: Callable[[], object], seconds: float, what: str, procs=(), interval: float = 0.25
) -> object:
    """Poll until `condition` is truthy; BenchError when a process dies or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done := condition():
            return done
        if dead := [
            f"{p.args[p.args.index('config') + 1]} (pid {p.pid})"
            for p in procs
            if p.poll() is not None
        ]:
            raise BenchError(f"celery {', '.join(dead)} exited; see {BENCH_DIR}/celery-*.log")
        time.sleep(interval)
    raise BenchError(f"{what}: not within {seconds:.0f} s; see {BENCH_DIR}/celery-*.log")


# A MONITOR line: `1700000000.123456 [6 127.0.0.1:5000] "LPUSH" "bulk" "{...}"`.
MONITOR_LINE = re.compile(r'\S+ \[(\d+) ([^\]]*)\] "([^"]*)"(?: "((?:[^"\\]|\\.)*)")?')
# kombu's Redis transport publishes with LPUSH to a list named after the queue (a queue's
# priority levels, if used, are lists named queue + "\x06\x16" + level).
PUBLISH_COMMANDS = {"LPUSH", "RPUSH"}
PRIORITY_SEPARATOR = "\\x06\\x16"  # as MONITOR escapes it


class BrokerTap:
    """Counts the commands sent to one Redis database, and pushes per list, as MONITOR sees them.

    MONITOR shows every client's commands, the worker's and beat's included, so nothing is
    inferred from the code: a publish is counted when it reaches the broker.
    """

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.db = self.client.connection_pool.connection_kwargs.get("db", 0)
        self.pushes: Counter = Counter()
        self.commands: Counter = Counter()
        self.samples: dict[str, str] = {}  # the first line of each command, to show the format
        self.marker = f"tern:bench:tap:{uuid.uuid4().hex}"
        self.marked = threading.Event()

    def __enter__(self) -> "BrokerTap":
        self.monitor = self.client.monitor()
        self.monitor.__enter__()  # MONITOR answered OK: from here on, nothing is missed
        threading.Thread(target=self._read, name="bench-broker-tap", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.monitor.__exit__(*exc)  # closing the socket ends the reading thread

    def _read(self) -> None:
        while True:
            try:
                raw = self.monitor.connection.read_response()
            except (redis.RedisError, OSError, AttributeError):
                return
            self._count(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))

    def _count(self, line: str) -> None:
        match = MONITOR_LINE.match(line)
        if not match or int(match[1]) != self.db or match[2] == "lua":
            return
        command, key = match[3].upper(), match[4] or ""
        self.commands[command] += 1
        self.samples.setdefault(command, line[:160])
        if command in PUBLISH_COMMANDS:
            self.pushes[key.split(PRIORITY_SEPARATOR)[0]] += 1
        elif command == "GET" and key == self.marker:
            self.marked.set()

    def settle(self, seconds: float = 30.0) -> tuple[Counter, Counter]:
        """(pushes per queue, commands) so far: every command sent before this call was read."""
        self.client.get(self.marker)  # MONITOR relays commands in order: this one comes last
        if not self.marked.wait(seconds):
            raise BenchError("the broker tap fell behind MONITOR by more than 30 s")
        return Counter(self.pushes), Counter(self.commands)
