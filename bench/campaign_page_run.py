"""`python -m bench.campaign_page_run`: the Campaign page's server time with 1,000,000 messages in
the workspace, 250,000 of them one campaign's (85 % delivered, 5 % undelivered and 5 % failed
over three codes, 5 % queued, reaching their outcome over six hours), against the same page of
a campaign of 1,000 in a workspace of 1,000 messages.

The messages go in by INSERT … SELECT generate_series (PostgreSQL); the campaign's counters and
its outcome summary are filled from them as the launch and the triggers would have left them
(the summary by migration 0012's own backfill), then VACUUM ANALYZE as autovacuum would. Run it
on a scratch database: it adds two workspaces and reinstalls the outcome triggers. Each page is
timed through Django's test client signed in as the owner, by its Server-Timing header (the
median of several requests after a warm-up). Prints {"page", "live", "list"}: ms, big and small.
"""

import importlib
import json
import os
import statistics
import sys

import django

CHUNK = 100_000
REQUESTS, WARMUP = 15, 3

FILL = """
INSERT INTO messaging_message (
  id, workspace_id, test, direction, status, to_number, from_number, body, category, segments,
  encoding, price, currency, reserved, settled_at, campaign_id, provider, error, metadata,
  attempts, review, system_reply, created_at, updated_at)
SELECT
  %(prefix)s || lpad(i::text, 8, '0'), %(workspace)s, false, 'outbound',
  CASE WHEN i >= %(campaign_size)s THEN 'delivered'
       WHEN i %% 100 < 5 THEN 'failed' WHEN i %% 100 < 10 THEN 'undelivered'
       WHEN i %% 100 < 15 THEN 'queued' ELSE 'delivered' END,
  '+1212' || lpad((2000000 + i %% 7000000)::text, 7, '0'), '+14155550100',
  'Spring sale today. Reply STOP to opt out.', 'marketing', 1, 'GSM-7', 0.0079, 'USD', 0.0079,
  now(), CASE WHEN i < %(campaign_size)s THEN %(campaign)s ELSE '' END, 'simulator',
  CASE WHEN i < %(campaign_size)s AND i %% 100 < 10 THEN jsonb_build_object('code',
    (ARRAY['unknown_number', 'carrier_filtered', 'unreachable_handset'])[1 + i %% 3]) END,
  '{}'::jsonb, 1, '', false,
  now() - make_interval(secs => (i::bigint * 2591999 / %(count)s)),
  now() - make_interval(secs => ((i %% 21600)::bigint))
FROM generate_series(%(first)s, %(last)s) AS i
"""

COUNTERS = """
INSERT INTO messaging_campaigncounter (workspace_id, campaign_id, status, shard, n)
SELECT %(workspace)s, %(campaign)s, s.status, sh.shard, coalesce(c.n, 0)
FROM unnest(%(statuses)s::text[]) AS s(status) CROSS JOIN generate_series(0, 7) AS sh(shard)
LEFT JOIN (
  SELECT status, ascii(right(id, 1)) %% 8 AS shard, count(*) AS n FROM messaging_message
  WHERE campaign_id = %(campaign)s GROUP BY 1, 2
) c ON c.status = s.status AND c.shard = sh.shard
"""


def world(name: str, count: int, campaign_size: int, prefix: str, sender: str):
    """A workspace of `count` messages, the first `campaign_size` one running campaign's."""
    from django.db import connection

    from campaigns.messages import COUNTED_STATUSES
    from campaigns.models import Campaign
    from messaging.models import CampaignCounter
    from workspaces import clock
    from workspaces.services import workspace_bootstrap

    made = workspace_bootstrap(
        name=name, owner_email=f"{prefix}@example.test", sender_number=sender
    )
    workspace = made["workspace"]
    campaign = Campaign.objects.create(
        workspace=workspace,
        name="Spring sale",
        body="Spring sale today. Reply STOP to opt out.",
        audience={"all": True},
        from_number=sender,
        status=Campaign.RUNNING,
        recipients=campaign_size,
        launched_at=clock.now(),
        created_at=clock.now(),
    )
    with connection.cursor() as cursor:
        for first in range(0, count, CHUNK):
            params = {"prefix": prefix, "workspace": workspace.pk, "count": count}
            params |= {"campaign": campaign.pk, "campaign_size": campaign_size}
            cursor.execute(FILL, {**params, "first": first, "last": min(first + CHUNK, count) - 1})
        statuses = [str(s) for s in COUNTED_STATUSES] + [CampaignCounter.COST]
        cursor.execute(
            COUNTERS, {"workspace": workspace.pk, "campaign": campaign.pk, "statuses": statuses}
        )
    return workspace, campaign


def outcomes_fill(connection) -> None:
    """The outcome summary of the messages inserted (the triggers count status changes, and
    these went in final): the migration's own backfill."""
    outcomes = importlib.import_module("messaging.migrations.0012_campaign_outcome_hour_triggers")
    with connection.schema_editor() as editor:
        outcomes.install(None, editor)


def main() -> dict:
    """Both worlds, then each page timed."""
    from django.db import connection
    from django.test import Client

    from workspaces.models import Membership

    worlds = {
        "big": world("Campaign bench big", 1_000_000, 250_000, "msg_cpbig", "+14155550181"),
        "small": world("Campaign bench small", 1_000, 1_000, "msg_cpsmall", "+14155550182"),
    }
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE messaging_campaignoutcomehour")
        cursor.execute("DROP TRIGGER IF EXISTS msg_campaign_outcomes ON messaging_message")
        cursor.execute("DROP FUNCTION IF EXISTS msg_campaign_outcomes()")
    outcomes_fill(connection)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_message")
        cursor.execute("ANALYZE messaging_campaignoutcomehour")
    timings = {}
    for size, (workspace, campaign) in worlds.items():
        owner = Membership.objects.get(workspace=workspace, role="owner")
        client = Client(SERVER_NAME="localhost")
        client.force_login(owner.user)
        base = f"/w/{workspace.slug}/campaigns/"
        for page, path in (
            ("page", f"{base}{campaign.pk}/"),
            ("live", f"{base}{campaign.pk}/live/"),
            ("list", base),
        ):
            found = []
            for n in range(WARMUP + REQUESTS):
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                if n >= WARMUP:
                    found.append(float(response.headers["Server-Timing"].split("dur=")[1]))
            timings.setdefault(page, {})[size] = round(statistics.median(found), 1)
    return timings


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    print(json.dumps(main()))
    sys.exit(0)
