"""A live `make run` driven from outside, as a newcomer's integration would: `make run` in a var
folder of its own (its log checked for processes that exited and for 5xx), an API client that
honours 429 + Retry-After, a webhook receiver verifying every delivery (standardwebhooks), and
`wait_until`. No Django here: `.ci/embedded_slice.py` and `bench/soak.py` talk HTTP to 127.0.0.1."""

import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from standardwebhooks import Webhook, WebhookVerificationError

ROOT = Path(__file__).resolve().parent.parent
BASE = "http://127.0.0.1:8000"
FINAL = {"delivered", "undelivered", "failed", "canceled"}
NOT_FINAL = ("scheduled", "queued", "sending", "sent")
MAX_RECONNECTS = 20  # connection errors repeated (safe requests only) before a run fails
ACCESS_LINE = re.compile(r'"[A-Z]+ (\S+) HTTP/[\d.]+" (\d{3}) ')
# The environment that would take `make run` off its embedded default.
SERVER_URLS = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}


class LiveFailed(Exception):
    """What a live run found wrong."""


def wait_until(what: str, check, deadline_s: float, interval: float = 0.5):
    """Poll `check` until it returns a truthy value, or fail naming `what`."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise LiveFailed(f"{what}: not within {deadline_s:.0f} s")


def local_session() -> requests.Session:
    """A session that ignores proxy settings: 127.0.0.1 only."""
    session = requests.Session()
    session.trust_env = False
    return session


def health() -> dict | None:
    """/healthz's body, or None when it does not answer."""
    try:
        return local_session().get(f"{BASE}/healthz", timeout=2).json()
    except (requests.RequestException, ValueError):
        return None


def health_ok():
    """/healthz's body when every part says ok, else None."""
    body = health()
    return body if body and set(body.values()) == {"ok"} else None


def port_in_use() -> bool:
    """Whether something already listens on 127.0.0.1:8000 (another `make run`)."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", 8000)) == 0


class Api:
    """The API as a careful client uses it: one session per thread, 429s waited out as
    Retry-After says, every answer counted; a 5xx or an unexpected status fails the run."""

    def __init__(self, token: str):
        self.token = token
        self.local = threading.local()
        self.lock = threading.Lock()
        self.answers: Counter = Counter()
        self.reconnects: Counter = Counter()
        self.abort = threading.Event()  # set when the run has failed: every thread stops

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            session = local_session()
            session.headers["Authorization"] = f"Bearer {self.token}"
            self.local.session = session
        return self.local.session

    def call(self, method: str, path: str, expect: int, **kwargs) -> dict:
        """The JSON answer of one request, sent again after each 429's Retry-After."""
        url = path if path.startswith(BASE) else f"{BASE}{path}"
        if not url.startswith(f"{BASE}/"):
            raise LiveFailed(f"refusing to call {url}: 127.0.0.1 only")
        retryable = method == "GET" or "Idempotency-Key" in kwargs.get("headers", {})
        for _ in range(100):
            if self.abort.is_set():
                raise LiveFailed("stopped: the run failed elsewhere")
            try:
                response = self.session().request(method, url, timeout=60, **kwargs)
            except requests.ConnectionError as exc:
                # A kept-alive connection the server closed as it was reused (gunicorn's 2 s
                # keep-alive): a request safe to repeat is sent again on a new one.
                if not retryable or self.reconnects[method] >= MAX_RECONNECTS:
                    raise LiveFailed(f"{method} {path}: {exc}") from None
                with self.lock:
                    self.reconnects[method] += 1
                continue
            with self.lock:
                self.answers[response.status_code] += 1
            if response.status_code >= 500:
                raise LiveFailed(
                    f"{method} {path} answered {response.status_code}: {response.text[:500]}"
                )
            if response.status_code != 429:
                break
            time.sleep(int(response.headers.get("Retry-After", "1")))
        if response.status_code != expect:
            raise LiveFailed(
                f"{method} {path} answered {response.status_code} "
                f"(expected {expect}): {response.text[:500]}"
            )
        return response.json()

    def short_code(self, number: str) -> dict:
        """Register a US short code, the sender every live run sends from."""
        sender = {"number": number, "kind": "short_code", "country": "US"}
        return self.call("POST", "/api/v1/senders", 201, json=sender)

    def listing(self, path: str, **params) -> list[dict]:
        """Every item of a list, page after page."""
        page = self.call("GET", path, 200, params={"limit": 200, **params})
        items = page["results"]
        while page["next"]:
            page = self.call("GET", page["next"], 200)
            items += page["results"]
        return items

    def all_final(self) -> bool:
        """True once no outbound message is left in a status that is not final."""
        for status in NOT_FINAL:
            page = self.call("GET", "/api/v1/messages", 200, params={"status": status, "limit": 1})
            if page["results"]:
                return False
        return True


def event_age(created_at: str, now: float) -> float | None:
    """Seconds from an event's `created_at` (ISO 8601) to `now` (epoch), None if unreadable."""
    try:
        return now - datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        return None


class Receiver:
    """A webhook endpoint on 127.0.0.1: verifies each delivery with the endpoint's secret and
    keeps the message ids of verified `message.delivered` events, the distinct events of each
    type, and each verified delivery's lag (receipt − the event's `created_at`)."""

    def __init__(self, expected: set[str] = frozenset({"message.delivered"})):
        self.expected = expected  # the event types the endpoint subscribes to
        self.delivered: dict[str, float] = {}  # message id → when first received (monotonic)
        self.deliveries, self.bad, self.unexpected = 0, [], []
        self.events: dict[str, str] = {}  # event id → type, each event once
        self.lags: list[tuple[float, float]] = []  # (received at, epoch; lag in seconds)
        self.lock = threading.Lock()
        self.secret_set = threading.Event()
        self.verifier: Webhook | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.take(body, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def start_verifying(self, secret: str) -> None:
        self.verifier = Webhook(secret)
        self.secret_set.set()

    def take(self, body: bytes, headers: dict) -> int:
        """200 for a verified delivery (recorded), 400 for one whose signature fails."""
        self.secret_set.wait(30)
        try:
            event = self.verifier.verify(body, headers)
        except (WebhookVerificationError, AttributeError) as exc:
            with self.lock:
                self.bad.append(f"{headers.get('webhook-id')}: {exc}")
            return 400
        now = time.time()
        with self.lock:
            self.deliveries += 1
            self.record(event, now)
        return 200

    def record(self, event: dict, now: float) -> None:
        """Keep one verified event (the lock held)."""
        data, kind = event.get("data") or {}, event.get("type")
        self.events.setdefault(event.get("id"), kind)
        lag = event_age(event.get("created_at"), now)
        if lag is not None:
            self.lags.append((now, lag))
        delivered = kind == "message.delivered" and data.get("status") == "delivered"
        if kind not in self.expected or (kind == "message.delivered" and not delivered):
            self.unexpected.append(f"{kind} {data.get('id')} {data.get('status')}")
        elif delivered:
            self.delivered.setdefault(data["id"], time.monotonic())

    def max_lag(self, since: float) -> float | None:
        """The largest lag of the deliveries received since `since` (epoch), None if none."""
        with self.lock:
            lags = [lag for at, lag in self.lags if at >= since]
        return max(lags) if lags else None

    def stop(self) -> None:
        self.server.shutdown()


def server_errors(log_text: str) -> list[str]:
    """gunicorn access-log lines with a 5xx status."""
    return [
        line
        for line in log_text.splitlines()
        if (m := ACCESS_LINE.search(line)) and m[2].startswith("5")
    ]


class MakeRun:
    """`make run` (from PATH, as a newcomer runs it) on the embedded default, in a var folder of
    its own (TERN_VAR_DIR) with its output in make-run.log there; stopped as Ctrl-C would."""

    def __init__(self, prefix: str, embedded: bool = True):
        self.embedded = embedded  # False: keep the environment's server URLs (PostgreSQL, Redis)
        self.var = Path(tempfile.mkdtemp(prefix=prefix))
        self.log_path = self.var / "make-run.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Start `make run`; the monotonic time it started at."""
        env = {k: v for k, v in os.environ.items() if not self.embedded or k not in SERVER_URLS}
        env["TERN_VAR_DIR"] = str(self.var)
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            ["make", "run"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
        self.started = time.monotonic()
        return self.started

    def token(self) -> str:
        """The live token `make run` printed into var/demo.json."""
        import json

        return json.loads((self.var / "demo.json").read_text())["tokens"]["live"]

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def died(self) -> list[str]:
        """The supervisor's lines about a process that exited."""
        return [
            line
            for line in self.log_text().splitlines()
            if line.startswith("[run]") and " exited with code " in line
        ]

    def server_errors(self) -> list[str]:
        return server_errors(self.log_text())

    def stop(self) -> None:
        """Ctrl-C to the whole of `make run`, SIGKILL after 30 s."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    def processes(self) -> Counter:
        """The live processes under `make run`, by kind (web, worker, bulk, beat)."""
        return Counter(kind for kind in self.pids().values() if kind)

    def pids(self) -> dict[int, str | None]:
        """Every live process under `make run` → its kind (None: make, the supervisor, shells)."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        kinds, todo = {}, [self.proc.pid]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            kinds[pid] = process_kind(pid)
        return kinds


def process_kind(pid: int) -> str | None:
    """web, worker, bulk or beat for a Procfile process (its main one or a pool child)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    line = b" ".join(args).decode(errors="replace")
    if line.startswith("/bin/sh"):
        return None  # the shell `make run` starts a Procfile line with
    if "gunicorn" in line:
        return "web"
    if "celery" not in line:
        return None
    if " beat" in line:
        return "beat"
    return "bulk" if "-Q bulk" in line else "worker"
