"""`python -m bench.dashboard_run <big workspace id>`: the dashboard's server time with 1,000,000
messages in a workspace over the same page of a workspace with 1,000 (run by
bench/dashboard_benchmarks.py in a child process with the bench's environment).

The messages go in by INSERT … SELECT generate_series on PostgreSQL (the summary triggers fire
on it, once per statement), spread over the last 30 days: mostly delivered, 3 % failed and 4 %
undelivered over five catalogue codes, four countries and two senders. The page is timed as a
member sees it, through Django's test client signed in with force_login, by the Server-Timing
header (the median of several requests after a warm-up).
"""

import json
import os
import statistics
import sys
import time

import django

BIG, SMALL = 1_000_000, 1_000
CHUNK = 100_000  # rows per INSERT: the statement trigger's transition table stays modest
REQUESTS, WARMUP = 25, 3

FILL = """
INSERT INTO messaging_message (
  id, workspace_id, test, direction, status, to_number, from_number, body, category, segments,
  encoding, price, currency, reserved, settled_at, campaign_id, provider, error, metadata,
  attempts, review, system_reply, created_at, updated_at)
SELECT
  %(prefix)s || lpad(i::text, 8, '0'), %(workspace)s, false, 'outbound',
  CASE WHEN i %% 100 < 3 THEN 'failed' WHEN i %% 100 < 7 THEN 'undelivered' ELSE 'delivered' END,
  (ARRAY['+1415555', '+1416555', '+4477009', '+4915123'])[1 + i %% 4]
    || lpad((i %% 10000)::text, 4, '0'),
  (ARRAY['+14155550100', '+14155550101'])[1 + (i / 7) %% 2],
  'Your code is 1234', 'transactional', 1, 'GSM-7', 0.0079, 'USD', 0.0079, now(), '',
  'simulator',
  CASE WHEN i %% 100 < 7 THEN jsonb_build_object('code', (ARRAY['unreachable_handset',
    'unknown_number', 'carrier_filtered', 'carrier_opted_out', 'provider_rejected'])
    [1 + (i / 3) %% 5]) END,
  '{}'::jsonb, 1, '', false,
  now() - make_interval(secs => (i::bigint * 2591999 / %(count)s)),
  now()
FROM generate_series(%(first)s, %(last)s) AS i
"""


def fill(connection, workspace_id: str, count: int, prefix: str) -> float:
    """Insert `count` messages of the workspace; the seconds it took."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for first in range(0, count, CHUNK):
            last = min(first + CHUNK, count) - 1
            params = {"prefix": prefix, "workspace": workspace_id, "count": count}
            cursor.execute(FILL, {**params, "first": first, "last": last})
    return time.perf_counter() - started


def server_ms(response) -> float:
    """The page's server time from its Server-Timing header, in milliseconds."""
    if response.status_code != 200:
        raise SystemExit(f"the dashboard answered {response.status_code}")
    return float(response.headers["Server-Timing"].split("dur=")[1].split(",")[0])


def timed(pages: dict) -> dict:
    """The median server time of each page; requests alternate between the pages so that the
    load of a busy machine falls on both alike."""
    timings = {name: [] for name in pages}
    for n in range(WARMUP + REQUESTS):
        for name, (client, url) in pages.items():
            ms = server_ms(client.get(url))
            if n >= WARMUP:
                timings[name].append(ms)
    return {name: statistics.median(found) for name, found in timings.items()}


def main(big_id: str) -> dict:
    """Fill both workspaces, then time each one's dashboard."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from messaging.models import MessageHourStat
    from workspaces.models import Membership, Workspace
    from workspaces.services import workspace_bootstrap

    small = workspace_bootstrap(
        name="Bench small", owner_email="small@example.test", sender_number="+14155550177"
    )["workspace"]
    big = Workspace.objects.get(pk=big_id)
    seconds = fill(connection, big.pk, BIG, "msg_benchbig")
    fill(connection, small.pk, SMALL, "msg_benchsmall")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_messagehourstat")
    pages = {}
    for workspace in (small, big):
        owner = Membership.objects.filter(workspace=workspace, role="owner").first()
        client = Client(SERVER_NAME="localhost")
        client.force_login(owner.user if owner else get_user_model().objects.first())
        pages[workspace.pk] = (client, f"/w/{workspace.slug}/")
    timings = timed(pages)
    rows = {w.pk: MessageHourStat.objects.filter(workspace=w).count() for w in (small, big)}
    return {
        "value": timings[big.pk],
        "baseline": timings[small.pk],
        "fill_seconds": round(seconds, 1),
        "summary_rows": {"big": rows[big.pk], "small": rows[small.pk]},
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    print(json.dumps(main(sys.argv[1])))
