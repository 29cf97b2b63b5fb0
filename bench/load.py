"""HTTP load: client processes posting on keep-alive sessions for a fixed window (no Django)."""

import multiprocessing
import time
from collections import Counter

import requests

# The simulator's magic endings (failures, delays) are kept out of the recipients.
MAGIC_ENDINGS = {"0003", "0005", "0006", "0007", "0429", "0500"}
BODY_CHARS = 120  # one GSM-7 segment
# Keep-alive pins a connection to one gunicorn worker; a few kept connections often all land on
# the same one, which then runs on one core. Reconnecting now and then lets the idler one take it.
RECONNECT_EVERY = 50


def recipients(sender: str) -> list[str]:
    """Valid US numbers (+1 415 555 xxxx), minus magic endings and the sender itself."""
    numbers = (f"+1415555{k:04d}" for k in range(10000))
    return [n for n in numbers if n[-4:] not in MAGIC_ENDINGS and n != sender]


def message(kind: str, tag: str, client: int, n: int, pool: list[str]) -> dict:
    """One send request; the body is unique so duplicate detection never fires."""
    head = f"Tern bench {tag} {kind} c{client} n{n:07d}: your code is 482913."
    return {"to": pool[(client * 2503 + n) % len(pool)], "body": head.ljust(BODY_CHARS, ".")}


def client(url, token, kind, tag, index, pool, start_at, warmup, duration) -> Counter:
    """POST in a loop until the window closes; count statuses answered inside the window."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    begin, end = start_at + warmup, start_at + warmup + duration
    counts: Counter = Counter()
    time.sleep(max(0.0, start_at - time.monotonic()))
    n = 0
    while time.monotonic() < end:
        if n and n % RECONNECT_EVERY == 0:
            session.close()
        try:
            status = session.post(url, json=message(kind, tag, index, n, pool), timeout=30)
            status = status.status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        n += 1
        if begin <= time.monotonic() <= end:
            counts[status] += 1
    return counts


def run(url, token, kind, tag, pool, *, clients=4, warmup=2.0, duration=8.0) -> Counter:
    """Start `clients` spawned processes together; the summed status counts of the window."""
    context = multiprocessing.get_context("spawn")
    start_at = time.monotonic() + 1.5  # time for the spawned interpreters to import requests
    args = [(url, token, kind, tag, i, pool, start_at, warmup, duration) for i in range(clients)]
    with context.Pool(clients) as workers:
        return sum(workers.starmap(client, args), Counter())


def ok_count(counts: Counter) -> int:
    """Answers with a 2xx status."""
    return sum(v for k, v in counts.items() if isinstance(k, int) and 200 <= k < 300)
