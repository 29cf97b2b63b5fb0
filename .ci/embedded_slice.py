"""CI: the embedded default end to end, with the real processes of `make run`.

Starts `make run` (SQLite, the folder broker, real worker, bulk worker and beat) in a var folder
of its own and, with the printed live token only, sets up what a newcomer's first busy hour
needs: a short code (`POST /api/v1/senders`), a webhook endpoint subscribed to
`message.delivered` on a receiver in this script (signatures verified with `standardwebhooks`),
a campaign audience (an import, contacts and consents through the API, a suppression) living
where it is midday. Then, at the same time: 16 clients send singles and batches from the short
code (honouring 429 + Retry-After), a campaign is dry-run, launched and followed to `completed`,
and a second contact import runs to `completed`.

It fails on any 5xx (client answers and gunicorn's access log), a process of `make run` that
exits, a message not final within 5 minutes, a campaign whose stats break recipients = skipped +
every status, an import that does not complete as expected, or a delivered message without a
verified `message.delivered` at the receiver. Prints one summary line. Talks to 127.0.0.1 only.
"""

import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from standardwebhooks import Webhook, WebhookVerificationError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.zones import midday_zone  # noqa: E402 - the repository's root is on the path now

BASE = "http://127.0.0.1:8000"
FINAL = {"delivered", "undelivered", "failed", "canceled"}
NOT_FINAL = ("scheduled", "queued", "sending", "sent")
STATUSES = ("scheduled", "queued", "sending", "sent", *sorted(FINAL))
SHORT_CODE = "72631"
# 16 clients × (40 singles + 2 batches of 20) = 1,280 API messages; the campaign adds its
# consenting, unsuppressed contacts (about 400): under 2,000 messages in all.
CLIENTS, SINGLES, BATCHES, BATCH_SIZE = 16, 40, 2, 20
CAMPAIGN_IMPORTED, CAMPAIGN_NO_CONSENT, CAMPAIGN_API, CAMPAIGN_SUPPRESSED = 380, 10, 12, 4
SECOND_IMPORT = 200  # rows of the import that runs during the load (+ one refused row)
# Simulator outcomes (CONTRACT §5) sent once each, so a suppression never refuses a later send.
MAGIC = ("0003", "0005", "0006", "0007", "0429", "0500")
FINAL_WITHIN, WEBHOOKS_WITHIN, CAMPAIGN_WITHIN = 300, 120, 300
MAX_RECONNECTS = 20  # connection errors repeated (safe requests only) before the slice fails
DISCLOSURE = "Texts about offers from Demo, reply STOP to end"
ACCESS_LINE = re.compile(r'"[A-Z]+ (\S+) HTTP/[\d.]+" (\d{3}) ')


class SliceFailed(Exception):
    """What the slice found wrong."""


def wait_until(what: str, check, deadline_s: float, interval: float = 0.5):
    """Poll `check` until it returns a truthy value, or fail naming `what`."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise SliceFailed(f"{what}: not within {deadline_s:.0f} s")


def local_session() -> requests.Session:
    """A session that ignores proxy settings: 127.0.0.1 only."""
    session = requests.Session()
    session.trust_env = False
    return session


def health_ok():
    """/healthz's body when every part says ok, else None."""
    try:
        body = local_session().get(f"{BASE}/healthz", timeout=2).json()
    except (requests.RequestException, ValueError):
        return None
    return body if set(body.values()) == {"ok"} else None


def port_in_use() -> bool:
    """Whether something already listens on 127.0.0.1:8000 (another `make run`)."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", 8000)) == 0


class Api:
    """The API as a careful client uses it: one session per thread, 429s waited out as
    Retry-After says, every answer counted; a 5xx or an unexpected status fails the slice."""

    def __init__(self, token: str):
        self.token = token
        self.local = threading.local()
        self.lock = threading.Lock()
        self.answers: Counter = Counter()
        self.reconnects: Counter = Counter()
        self.abort = threading.Event()  # set when the slice has failed: every thread stops

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
            raise SliceFailed(f"refusing to call {url}: 127.0.0.1 only")
        retryable = method == "GET" or "Idempotency-Key" in kwargs.get("headers", {})
        for _ in range(100):
            if self.abort.is_set():
                raise SliceFailed("stopped: the slice failed elsewhere")
            try:
                response = self.session().request(method, url, timeout=60, **kwargs)
            except requests.ConnectionError as exc:
                # A kept-alive connection the server closed as it was reused (gunicorn's 2 s
                # keep-alive): a request safe to repeat is sent again on a new one.
                if not retryable or self.reconnects[method] >= MAX_RECONNECTS:
                    raise SliceFailed(f"{method} {path}: {exc}") from None
                with self.lock:
                    self.reconnects[method] += 1
                continue
            with self.lock:
                self.answers[response.status_code] += 1
            if response.status_code >= 500:
                raise SliceFailed(f"{method} {path} answered {response.status_code}: "
                                  f"{response.text[:500]}")  # fmt: skip
            if response.status_code != 429:
                break
            time.sleep(int(response.headers.get("Retry-After", "1")))
        if response.status_code != expect:
            raise SliceFailed(f"{method} {path} answered {response.status_code} "
                              f"(expected {expect}): {response.text[:500]}")  # fmt: skip
        return response.json()

    def listing(self, path: str, **params) -> list[dict]:
        """Every item of a list, page after page."""
        page = self.call("GET", path, 200, params={"limit": 200, **params})
        items = page["results"]
        while page["next"]:
            page = self.call("GET", page["next"], 200)
            items += page["results"]
        return items


class Receiver:
    """A webhook endpoint on 127.0.0.1: verifies each delivery with the endpoint's secret and
    keeps the message ids of verified `message.delivered` events."""

    def __init__(self):
        self.delivered: dict[str, float] = {}  # message id → when first received (monotonic)
        self.deliveries, self.bad, self.unexpected = 0, [], []
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
        with self.lock:
            self.deliveries += 1
            data = event.get("data") or {}
            if event.get("type") != "message.delivered" or data.get("status") != "delivered":
                self.unexpected.append(f"{event.get('type')} {data.get('id')} {data.get('status')}")
            else:
                self.delivered.setdefault(data["id"], time.monotonic())
        return 200

    def stop(self) -> None:
        self.server.shutdown()


def csv_file(rows: list[list[str]]) -> bytes:
    """An import file: the header of CONTRACT §7, then the rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["phone", "first_name", "last_name", "timezone", "tags", "consent"])
    writer.writerows(rows)
    return out.getvalue().encode()


def import_run(api: Api, rows: list[list[str]], name: str) -> dict:
    """Upload a CSV with the disclosure and wait until the import completes."""
    started = time.monotonic()
    created = api.call("POST", "/api/v1/contact-imports", 202,
                       files={"file": (name, csv_file(rows), "text/csv")},
                       data={"consent_disclosure": DISCLOSURE})  # fmt: skip

    def finished():
        found = api.call("GET", f"/api/v1/contact-imports/{created['id']}", 200)
        return found if found["status"] in ("completed", "failed") else None

    found = wait_until(f"import {name}", finished, 180, interval=1)
    if found["status"] != "completed":
        raise SliceFailed(f"import {name} {found['status']}: {found.get('failure')}")
    return {**found, "seconds": time.monotonic() - started}


def campaign_numbers() -> list[str]:
    """The campaign audience's numbers (+1 212 200 xxxx), a few with the simulator's endings."""
    total = CAMPAIGN_IMPORTED + CAMPAIGN_NO_CONSENT + CAMPAIGN_API
    plain = [f"+1212200{k:04d}" for k in range(1000, 1000 + total - 3)]
    return [f"+1212200{MAGIC[0]}", f"+1212200{MAGIC[1]}", f"+1212200{MAGIC[3]}", *plain]


def audience_set_up(api: Api, zone: str) -> dict:
    """The campaign's contacts: most imported with consent, some without, some through the
    contacts and consents API; a few suppressed. Returns the expected skips."""
    numbers = campaign_numbers()
    imported = numbers[: CAMPAIGN_IMPORTED + CAMPAIGN_NO_CONSENT]
    rows = [[phone, f"Ann{i}", "Lee", zone, "slice;vip", "yes" if i < CAMPAIGN_IMPORTED else ""]
            for i, phone in enumerate(imported)]  # fmt: skip
    report = import_run(api, rows, "audience.csv")
    if report["created"] != len(rows) or report["errors"]:
        raise SliceFailed(f"audience import: {report}")
    for phone in numbers[len(imported) :]:
        api.call("POST", "/api/v1/contacts", 201, json={"phone": phone, "first_name": "Bo",
                 "timezone": zone, "tags": ["slice"]})  # fmt: skip
        api.call("POST", "/api/v1/consents", 201, json={"phone": phone, "method": "api",
                 "category": "marketing", "disclosure": DISCLOSURE})  # fmt: skip
    for phone in numbers[-CAMPAIGN_SUPPRESSED:]:
        api.call(
            "POST",
            "/api/v1/suppressions",
            201,
            json={"phone": phone, "reason": "asked by phone", "scope": "workspace"},
        )
    return {"consent_required": CAMPAIGN_NO_CONSENT, "workspace_suppressed": CAMPAIGN_SUPPRESSED}


def campaign_launch(api: Api, campaign_id: str, expected_skips: dict) -> dict:
    """Dry run, launch, and follow the campaign to `completed`."""
    dry = api.call("POST", f"/api/v1/campaigns/{campaign_id}/dry-run", 200)
    total = CAMPAIGN_IMPORTED + CAMPAIGN_NO_CONSENT + CAMPAIGN_API
    if dry["recipients"] != total or dry["skipped"] != expected_skips:
        raise SliceFailed(f"dry run: {dry}, expected {total} recipients, skipped {expected_skips}")
    started = time.monotonic()
    api.call("POST", f"/api/v1/campaigns/{campaign_id}/launch", 200)
    launched = time.monotonic() - started

    def completed():
        found = api.call("GET", f"/api/v1/campaigns/{campaign_id}", 200)
        if found["status"] not in ("running", "completed"):
            raise SliceFailed(f"campaign {found['status']}: {found}")
        return found if found["status"] == "completed" else None

    wait_until("the campaign's completion", completed, CAMPAIGN_WITHIN, interval=1)
    return {"dry_run": dry, "launch_seconds": launched,
            "seconds": time.monotonic() - started}  # fmt: skip


def second_import(api: Api) -> dict:
    """Contacts imported while everything else runs; one refused row, reported."""
    rows = [[f"+1212300{k:04d}", f"Cy{k}", "", "America/Chicago" if k % 2 else "", "later",
             "yes" if k % 3 else "no"] for k in range(1000, 1000 + SECOND_IMPORT)]  # fmt: skip
    rows.insert(50, ["not a number", "Bad", "", "", "later", ""])
    report = import_run(api, rows, "later.csv")
    refused = [(e["row"], e["code"]) for e in report["errors"]]
    if report["created"] != SECOND_IMPORT or refused != [(52, "invalid_number")]:
        raise SliceFailed(f"second import: {report}")
    return report


def client(api: Api, index: int, tag: str) -> tuple[list[str], Counter]:
    """Singles and batches from the short code; the accepted message ids, and batch refusals."""
    ids, refused = [], Counter()
    base = 1000 + index * 100  # each client its own 100 numbers of +1 415 555 xxxx
    batch_at = {SINGLES * (b + 1) // (BATCHES + 1): b for b in range(BATCHES)}
    for n in range(SINGLES):
        if n in batch_at:
            b = batch_at[n]
            first = base + SINGLES + b * BATCH_SIZE
            items = [{"to": f"+1415555{first + i:04d}", "from": SHORT_CODE,
                      "body": f"Slice {tag} c{index} batch {b} item {i}: your order shipped."}
                     for i in range(BATCH_SIZE)]  # fmt: skip
            answer = api.call("POST", "/api/v1/messages/batch", 200,
                              headers={"Idempotency-Key": f"slice-{tag}-{index}-b{b}"},
                              json={"messages": items})  # fmt: skip
            for item in answer["results"]:
                if "message" in item:
                    ids.append(item["message"]["id"])
                else:
                    refused[item["error"]["code"]] += 1
        ending = MAGIC[index] if n == 0 and index < len(MAGIC) else f"{base + n:04d}"
        sent = api.call("POST", "/api/v1/messages", 202,
                        headers={"Idempotency-Key": f"slice-{tag}-{index}-{n}"},
                        json={"to": f"+1415555{ending}", "from": SHORT_CODE,
                              "body": f"Slice {tag} c{index} n{n}: code {n:06d}"})  # fmt: skip
        ids.append(sent["id"])
    return ids, refused


def all_final(api: Api):
    """True once no outbound message is left in a status that is not final."""
    for status in NOT_FINAL:
        page = api.call("GET", "/api/v1/messages", 200, params={"status": status, "limit": 1})
        if page["results"]:
            return False
    return True


def check(api: Api, receiver: Receiver, ids: list[str], campaign_id: str, started: float):
    """After the load: every message final, the campaign's stats add up, every delivered
    message's webhook verified. Returns the figures of the summary."""
    wait_until("every message final", lambda: all_final(api),
               FINAL_WITHIN - (time.monotonic() - started), interval=1)  # fmt: skip
    final_at = time.monotonic()
    messages = api.listing("/api/v1/messages", direction="outbound")
    status = {m["id"]: m["status"] for m in messages}
    lost = [i for i in ids if status.get(i) not in FINAL]
    if lost:
        raise SliceFailed(f"{len(lost)} API messages not final or missing, e.g. {lost[:5]}")
    campaign = api.call("GET", f"/api/v1/campaigns/{campaign_id}", 200)
    stats = campaign["stats"]
    counted = sum(stats["skipped"].values()) + sum(stats[s] for s in STATUSES)
    if campaign["status"] != "completed" or stats["recipients"] != counted:
        raise SliceFailed(f"campaign stats do not add up: {campaign}")
    from_campaign = [m for m in messages if m["campaign"] == campaign_id]
    if len(from_campaign) != stats["recipients"] - sum(stats["skipped"].values()):
        raise SliceFailed(f"{len(from_campaign)} campaign messages for stats {stats}")
    if any(stats[s] for s in NOT_FINAL):
        raise SliceFailed(f"campaign stats show messages not final: {stats}")
    if len(messages) != len(ids) + len(from_campaign):
        raise SliceFailed(f"{len(messages)} outbound messages, expected "
                          f"{len(ids)} + {len(from_campaign)}")  # fmt: skip
    delivered = {m["id"] for m in messages if m["status"] == "delivered"}

    def webhooks_in():
        with receiver.lock:
            return delivered <= receiver.delivered.keys()

    try:
        wait_until("a verified message.delivered for every delivered message", webhooks_in,
                   WEBHOOKS_WITHIN)  # fmt: skip
    except SliceFailed as exc:
        missing = sorted(delivered - receiver.delivered.keys())
        raise SliceFailed(f"{exc}: {len(missing)} missing, e.g. {missing[:5]}") from None
    if receiver.bad or receiver.unexpected:
        raise SliceFailed(f"receiver: bad signatures {receiver.bad[:5]}, "
                          f"unexpected events {receiver.unexpected[:5]}")  # fmt: skip
    with receiver.lock:
        last_webhook = max(receiver.delivered[i] for i in delivered) if delivered else final_at
    return {"messages": Counter(m["status"] for m in messages), "total": len(messages),
            "campaign": stats, "final_s": final_at - started,
            "webhooks_lag_s": max(0.0, last_webhook - final_at),
            "webhooks": len(delivered), "deliveries": receiver.deliveries}  # fmt: skip


def slice_run(var: Path, receiver: Receiver, tag: str) -> str:
    """Set up, run the concurrent load, check; the summary line."""
    demo = json.loads((var / "demo.json").read_text())
    api = Api(demo["tokens"]["live"])
    setup_started = time.monotonic()
    api.call("POST", "/api/v1/senders", 201,
             json={"number": SHORT_CODE, "kind": "short_code", "country": "US"})  # fmt: skip
    endpoint = api.call("POST", "/api/v1/webhook-endpoints", 201,
                        json={"url": receiver.url, "events": ["message.delivered"]})  # fmt: skip
    receiver.start_verifying(endpoint["secret"])
    zone = midday_zone()
    skips = audience_set_up(api, zone)
    body = "Hi {{first_name|there}}, spring offers are in. Reply STOP to end."
    draft = {"name": "Slice", "body": body, "audience": {"tags": ["slice"]}, "from": SHORT_CODE}
    campaign = api.call("POST", "/api/v1/campaigns", 201, json=draft)
    setup_s = time.monotonic() - setup_started

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS + 2) as pool:
        try:
            launched = pool.submit(campaign_launch, api, campaign["id"], skips)
            imported = pool.submit(second_import, api)
            clients = [pool.submit(client, api, i, tag) for i in range(CLIENTS)]
            ids, refused = [], Counter()
            for future in clients:
                got, codes = future.result()
                ids += got
                refused += codes
            sends_s = time.monotonic() - started
            if refused:
                raise SliceFailed(f"batch items refused: {dict(refused)}")
            run, later = launched.result(), imported.result()  # the campaign's messages exist
            figures = check(api, receiver, ids, campaign["id"], started)
        except BaseException:
            api.abort.set()  # the other threads stop at their next request
            raise
    counts = figures["messages"]
    return (
        f"embedded slice: {figures['total']} messages final in {figures['final_s']:.0f} s "
        f"({', '.join(f'{counts[s]} {s}' for s in sorted(counts))}); "
        f"{len(ids)} from {CLIENTS} clients in {sends_s:.0f} s "
        f"({api.answers[429]} × 429 waited out); "
        f"campaign {figures['campaign']['recipients']} recipients "
        f"({sum(figures['campaign']['skipped'].values())} skipped) completed "
        f"{run['seconds']:.0f} s after launch; import of {later['created']} completed in "
        f"{later['seconds']:.0f} s; {figures['webhooks']} verified message.delivered "
        f"({figures['deliveries']} deliveries, last {figures['webhooks_lag_s']:.0f} s after "
        f"final); setup {setup_s:.0f} s; {sum(api.answers.values())} requests "
        f"({sum(api.reconnects.values())} sent again after a dropped keep-alive), no 5xx"
    )


def server_errors(log_text: str) -> list[str]:
    """gunicorn access-log lines with a 5xx status."""
    return [line for line in log_text.splitlines()
            if (m := ACCESS_LINE.search(line)) and m[2].startswith("5")]  # fmt: skip


def main() -> int:
    if port_in_use():
        print("embedded slice: 127.0.0.1:8000 is taken (another make run?)", file=sys.stderr)
        return 1
    var = Path(tempfile.mkdtemp(prefix="tern-slice-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env["TERN_VAR_DIR"] = str(var)
    log_path = var / "make-run.log"
    log = log_path.open("w")
    # `make` from PATH, as a newcomer runs it.
    command = ["make", "run"]
    run = subprocess.Popen(  # noqa: S603
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    started = time.monotonic()
    receiver = Receiver()
    failure, summary = None, ""
    try:
        wait_until("/healthz all ok", health_ok, 240)
        ready_s = time.monotonic() - started
        summary = slice_run(var, receiver, f"{os.getpid():x}")
        summary += f"; ready {ready_s:.0f} s, {time.monotonic() - started:.0f} s from make run"
        if run.poll() is not None:
            failure = "make run exited"
    except SliceFailed as exc:
        failure = str(exc)
    finally:
        died = [line for line in log_path.read_text(errors="replace").splitlines()
                if line.startswith("[run]") and " exited with code " in line]  # fmt: skip
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
        log.close()
        receiver.stop()
    errors = server_errors(log_path.read_text(errors="replace"))
    if died:
        failure = failure or f"a process of make run exited: {died[0]}"
    if errors:
        failure = failure or f"{len(errors)} 5xx in the access log"
    if failure:
        print("\n".join([*died, *errors[:20]]), file=sys.stderr)
        print(f"embedded slice: FAILED: {failure} (log: {log_path})", file=sys.stderr)
        return 1
    print(summary)
    shutil.rmtree(var, ignore_errors=True)  # kept only when the run failed, for its log
    return 0


if __name__ == "__main__":
    sys.exit(main())
