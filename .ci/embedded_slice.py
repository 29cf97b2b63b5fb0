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
import os
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The repository's root is on the path now.
from bench.live import (  # noqa: E402
    FINAL,
    NOT_FINAL,
    Api,
    MakeRun,
    Receiver,
    health_ok,
    port_in_use,
    wait_until,
)
from bench.live import LiveFailed as SliceFailed  # noqa: E402
from bench.zones import midday_zone  # noqa: E402

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
DISCLOSURE = "Texts about offers from Demo, reply STOP to end"


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
    created = api.call(
        "POST",
        "/api/v1/contact-imports",
        202,
        files={"file": (name, csv_file(rows), "text/csv")},
        data={"consent_disclosure": DISCLOSURE},
    )

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
    rows = [
        [phone, f"Ann{i}", "Lee", zone, "slice;vip", "yes" if i < CAMPAIGN_IMPORTED else ""]
        for i, phone in enumerate(imported)
    ]
    report = import_run(api, rows, "audience.csv")
    if report["created"] != len(rows) or report["errors"]:
        raise SliceFailed(f"audience import: {report}")
    for phone in numbers[len(imported) :]:
        api.call(
            "POST",
            "/api/v1/contacts",
            201,
            json={"phone": phone, "first_name": "Bo", "timezone": zone, "tags": ["slice"]},
        )
        api.call(
            "POST",
            "/api/v1/consents",
            201,
            json={
                "phone": phone,
                "method": "api",
                "category": "marketing",
                "disclosure": DISCLOSURE,
            },
        )
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
    return {"dry_run": dry, "launch_seconds": launched, "seconds": time.monotonic() - started}


def second_import(api: Api) -> dict:
    """Contacts imported while everything else runs; one refused row, reported."""
    rows = [
        [
            f"+1212300{k:04d}",
            f"Cy{k}",
            "",
            "America/Chicago" if k % 2 else "",
            "later",
            "yes" if k % 3 else "no",
        ]
        for k in range(1000, 1000 + SECOND_IMPORT)
    ]
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
            items = [
                {
                    "to": f"+1415555{first + i:04d}",
                    "from": SHORT_CODE,
                    "body": f"Slice {tag} c{index} batch {b} item {i}: your order shipped.",
                }
                for i in range(BATCH_SIZE)
            ]
            answer = api.call(
                "POST",
                "/api/v1/messages/batch",
                200,
                headers={"Idempotency-Key": f"slice-{tag}-{index}-b{b}"},
                json={"messages": items},
            )
            for item in answer["results"]:
                if "message" in item:
                    ids.append(item["message"]["id"])
                else:
                    refused[item["error"]["code"]] += 1
        ending = MAGIC[index] if n == 0 and index < len(MAGIC) else f"{base + n:04d}"
        sent = api.call(
            "POST",
            "/api/v1/messages",
            202,
            headers={"Idempotency-Key": f"slice-{tag}-{index}-{n}"},
            json={
                "to": f"+1415555{ending}",
                "from": SHORT_CODE,
                "body": f"Slice {tag} c{index} n{n}: code {n:06d}",
            },
        )
        ids.append(sent["id"])
    return ids, refused


def check(api: Api, receiver: Receiver, ids: list[str], campaign_id: str, started: float):
    """After the load: every message final, the campaign's stats add up, every delivered
    message's webhook verified. Returns the figures of the summary."""
    wait_until(
        "every message final",
        api.all_final,
        FINAL_WITHIN - (time.monotonic() - started),
        interval=1,
    )
    final_at = time.monotonic()
    messages = [  # the demo workspace's month of seeded traffic (demo_traffic) is not ours
        m
        for m in api.listing("/api/v1/messages", direction="outbound")
        if (m.get("metadata") or {}).get("demo") != "traffic"
    ]
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
        raise SliceFailed(
            f"{len(messages)} outbound messages, expected {len(ids)} + {len(from_campaign)}"
        )
    delivered = {m["id"] for m in messages if m["status"] == "delivered"}

    def webhooks_in():
        with receiver.lock:
            return delivered <= receiver.delivered.keys()

    try:
        wait_until(
            "a verified message.delivered for every delivered message", webhooks_in, WEBHOOKS_WITHIN
        )
    except SliceFailed as exc:
        missing = sorted(delivered - receiver.delivered.keys())
        raise SliceFailed(f"{exc}: {len(missing)} missing, e.g. {missing[:5]}") from None
    if receiver.bad or receiver.unexpected:
        raise SliceFailed(
            f"receiver: bad signatures {receiver.bad[:5]}, "
            f"unexpected events {receiver.unexpected[:5]}"
        )
    with receiver.lock:
        last_webhook = max(receiver.delivered[i] for i in delivered) if delivered else final_at
    return {
        "messages": Counter(m["status"] for m in messages),
        "total": len(messages),
        "campaign": stats,
        "final_s": final_at - started,
        "webhooks_lag_s": max(0.0, last_webhook - final_at),
        "webhooks": len(delivered),
        "deliveries": receiver.deliveries,
    }


def slice_run(token: str, receiver: Receiver, tag: str) -> str:
    """Set up, run the concurrent load, check; the summary line."""
    api = Api(token)
    setup_started = time.monotonic()
    api.short_code(SHORT_CODE)
    endpoint = api.call(
        "POST",
        "/api/v1/webhook-endpoints",
        201,
        json={"url": receiver.url, "events": ["message.delivered"]},
    )
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


def main() -> int:
    if port_in_use():
        print("embedded slice: 127.0.0.1:8000 is taken (another make run?)", file=sys.stderr)
        return 1
    run = MakeRun("tern-slice-")
    started = run.start()
    receiver = Receiver()
    failure, summary = None, ""
    try:
        wait_until("/healthz all ok", health_ok, 240)
        ready_s = time.monotonic() - started
        summary = slice_run(run.token(), receiver, f"{os.getpid():x}")
        summary += f"; ready {ready_s:.0f} s, {time.monotonic() - started:.0f} s from make run"
        if run.exited():
            failure = "make run exited"
    except SliceFailed as exc:
        failure = str(exc)
    finally:
        died = run.died()
        run.stop()
        receiver.stop()
    errors = run.server_errors()
    if died:
        failure = failure or f"a process of make run exited: {died[0]}"
    if errors:
        failure = failure or f"{len(errors)} 5xx in the access log"
    if failure:
        print("\n".join([*died, *errors[:20]]), file=sys.stderr)
        print(f"embedded slice: FAILED: {failure} (log: {run.log_path})", file=sys.stderr)
        return 1
    print(summary)
    shutil.rmtree(run.var, ignore_errors=True)  # kept only when the run failed, for its log
    return 0


if __name__ == "__main__":
    sys.exit(main())
