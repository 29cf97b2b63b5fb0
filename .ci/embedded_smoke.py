"""CI: `make run` on the embedded default, used as a newcomer would, with real processes.

Starts `make run` (SQLite, the folder broker, real worker, bulk worker and beat) in a var folder
of its own, waits for /healthz to be all ok, sends single messages from several threads and a
batch with the printed live token, and waits until every message is final. Any 5xx, a process
that dies, or a message not final within the deadline fails the run. Talks to 127.0.0.1 only.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

BASE = "http://127.0.0.1:8000"
FINAL = {"delivered", "undelivered", "failed", "canceled"}
# The demo sender is a long code (1 message/s), so the slice stays small: about a minute of sends.
SINGLES, THREADS, BATCH = 24, 6, 36


def wait_until(what: str, check, deadline_s: float):
    """Poll `check` until it returns a truthy value, or fail naming `what`."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise SystemExit(f"embedded smoke: {what} not within {deadline_s:.0f} s")


def health_ok():
    try:
        body = requests.get(f"{BASE}/healthz", timeout=2).json()
    except (requests.RequestException, ValueError):
        return None
    return body if set(body.values()) == {"ok"} else None


def send_single(session: requests.Session, index: int) -> str:
    """One API send; returns the message id (a 5xx fails the run)."""
    to = f"+1415555{index:04d}"
    for _ in range(20):
        response = session.post(
            f"{BASE}/api/v1/messages", json={"to": to, "body": f"smoke {index}"}
        )
        if response.status_code != 429:
            break
        time.sleep(int(response.headers.get("Retry-After", "1")))
    if response.status_code != 202:
        raise SystemExit(f"embedded smoke: send {index} answered {response.status_code}")
    return response.json()["id"]


def main() -> int:
    var = Path(tempfile.mkdtemp(prefix="tern-smoke-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env["TERN_VAR_DIR"] = str(var)
    log = open(var / "make-run.log", "w")  # noqa: SIM115 - kept open for the child's lifetime
    # `make` from PATH, as a newcomer runs it.
    command = ["make", "run"]
    run = subprocess.Popen(  # noqa: S603
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    started = time.monotonic()
    try:
        wait_until("/healthz all ok", health_ok, 240)
        demo = json.loads((var / "demo.json").read_text())
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {demo['tokens']['live']}"
        with ThreadPoolExecutor(THREADS) as pool:
            ids = list(pool.map(lambda i: send_single(session, i), range(1, SINGLES + 1)))
        batch = [{"to": f"+1415556{i:04d}", "body": f"batch {i}"} for i in range(BATCH)]
        answer = session.post(f"{BASE}/api/v1/messages/batch", json={"messages": batch})
        if answer.status_code != 200:
            raise SystemExit(f"embedded smoke: batch answered {answer.status_code}")
        ids += [r["message"]["id"] for r in answer.json()["results"] if "message" in r]

        def all_final():
            # One list page holds them all (60 ≤ 200): polling each message would meet the
            # workspace's rate limit, which is what a careful client avoids.
            answer = session.get(f"{BASE}/api/v1/messages", params={"limit": 200})
            if answer.status_code == 429:
                return False
            status = {m["id"]: m["status"] for m in answer.json()["results"]}
            return all(status.get(i) in FINAL for i in ids)

        wait_until(f"{len(ids)} messages final", all_final, 300)
        if run.poll() is not None:
            raise SystemExit("embedded smoke: make run exited")
        print(
            f"embedded smoke: {len(ids)} messages final, "
            f"{time.monotonic() - started:.0f} s from make run"
        )
    finally:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
        log.close()
    text = (var / "make-run.log").read_text(errors="replace")
    server_errors = [line for line in text.splitlines() if '" 5' in line]
    if server_errors:
        print("\n".join(server_errors[:20]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
