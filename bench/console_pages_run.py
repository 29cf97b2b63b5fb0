"""`python -m bench.console_pages_run <workspace id>`: every console page's server time with
1,000 messages in the workspace, then with 1,000,000 (CONTRACT §12: each page under 300 ms).

Run by bench/console_benchmarks.py in a child process on the bench's database. The messages come
from bench.million (INSERT … SELECT); a sixteenth of them become one campaign's (its counters and
outcome summary filled as the triggers keep them), so the Campaign page reads a campaign of about
60,000 messages at the big size; the Number page reads the number that
received most of them, with a consent and a suppression on record. Pages are fetched as the
workspace's owner through Django's test client; the figure is the Server-Timing header's median.
"""

import json
import os
import statistics
import sys
import time

import django

SMALL, BIG = 1_000, int(os.environ.get("CONSOLE_PAGES_MESSAGES", "1000000"))
REQUESTS, WARMUP = 15, 3
BUDGET_MS = 300.0
CAMPAIGN_ID = "cmp_benchconsolepages"

# Every page of §12 that takes a GET: (name, URL name, the sample objects its URL needs).
PAGES = (
    ("dashboard", "console:dashboard", ()),
    ("messages", "console:messages", ()),
    ("message", "console:message", ("message_id",)),
    ("send", "console:send", ()),
    ("refusals", "console:refusals", ()),
    ("contacts", "console:contacts", ()),
    ("contact", "console:contact", ("contact_id",)),
    ("import", "console:contact_import_new", ()),
    ("templates", "console:templates", ()),
    ("campaigns", "console:campaigns", ()),
    ("campaign_new", "console:campaign_new", ()),
    ("campaign", "console:campaign", ("campaign_id",)),
    ("suppressions", "console:suppressions", ()),
    ("number", "console:number", ("e164",)),
    ("exports", "console:exports", ()),
    ("audit", "console:audit", ()),
    ("developers", "console:developers", ()),
    ("members", "console:members", ()),
    ("settings", "console:settings", ()),
)


def server_ms(response, url: str) -> float:
    """The page's server time from its Server-Timing header, in milliseconds."""
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return float(response.headers["Server-Timing"].split("dur=")[1].split(",")[0])


def page_urls(workspace, samples: dict) -> dict:
    """The URL of every page built so far (a page without a URL name yet is left out)."""
    from django.urls import NoReverseMatch, reverse

    urls = {}
    for name, url_name, parts in PAGES:
        kwargs = {"slug": workspace.slug, **{part: samples[part] for part in parts}}
        try:
            urls[name] = reverse(url_name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return urls


def timed(client, urls: dict) -> dict:
    """The median server time of each page over REQUESTS rounds, after WARMUP rounds."""
    found = {name: [] for name in urls}
    for n in range(WARMUP + REQUESTS):
        for name, url in urls.items():
            ms = server_ms(client.get(url), url)
            if n >= WARMUP:
                found[name].append(ms)
    return {name: round(statistics.median(values), 1) for name, values in found.items()}


# The campaign's counters and outcome summary as launch and the triggers would have left them
# (the UPDATE below moves messages into the campaign, which no trigger counts).
COUNTERS = """
INSERT INTO messaging_campaigncounter (workspace_id, campaign_id, status, shard, n)
SELECT %(workspace)s, %(campaign)s, s.status, sh.shard, coalesce(c.n, 0)
FROM unnest(%(statuses)s::text[]) AS s(status) CROSS JOIN generate_series(0, 7) AS sh(shard)
LEFT JOIN (
  SELECT status, ascii(right(id, 1)) %% 8 AS shard, count(*) AS n FROM messaging_message
  WHERE campaign_id = %(campaign)s GROUP BY 1, 2
) c ON c.status = s.status AND c.shard = sh.shard
"""
OUTCOMES = """
INSERT INTO messaging_campaignoutcomehour (workspace_id, campaign_id, hour, status, code, shard, n)
SELECT workspace_id, campaign_id, date_trunc('hour', updated_at AT TIME ZONE 'UTC') AT TIME ZONE
       'UTC', status, CASE WHEN status = 'delivered' THEN '' ELSE
       coalesce(error ->> 'code', 'unknown') END, ascii(right(id, 1)) %% 8, count(*)
FROM messaging_message WHERE campaign_id = %(campaign)s
  AND status IN ('delivered', 'undelivered', 'failed')
GROUP BY 1, 2, 3, 4, 5, 6
"""


def campaign_share(workspace_id: str) -> None:
    """Give a sixteenth of the workspace's outbound messages to the bench's campaign (as
    marketing), then count them as its counters and outcome summary would have."""
    from django.db import connection

    from campaigns.messages import COUNTED_STATUSES
    from messaging.models import CampaignCounter

    # The counter rows a launch writes: one per counted status, and the cost (code's own list).
    statuses = [*(str(s) for s in COUNTED_STATUSES), CampaignCounter.COST]
    params = {"workspace": workspace_id, "campaign": CAMPAIGN_ID, "statuses": statuses}
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_message SET campaign_id = %s, category = 'marketing' "
            "WHERE workspace_id = %s AND direction = 'outbound' AND campaign_id = '' "
            "AND right(id, 1) = 'a'",
            [CAMPAIGN_ID, workspace_id],
        )
        for table in ("messaging_campaigncounter", "messaging_campaignoutcomehour"):
            cursor.execute(f"DELETE FROM {table} WHERE campaign_id = %s", [CAMPAIGN_ID])
        cursor.execute(COUNTERS, params)
        cursor.execute(OUTCOMES, params)
        cursor.execute(
            "UPDATE campaigns_campaign SET recipients = (SELECT count(*) FROM messaging_message "
            "WHERE campaign_id = %s) WHERE id = %s",
            [CAMPAIGN_ID, CAMPAIGN_ID],
        )
        cursor.execute("ANALYZE messaging_message")


def samples_for(workspace) -> dict:
    """One object of each kind a page's URL names, made once (campaign, contact, records)."""
    from django.utils import timezone

    from campaigns.models import Campaign, Contact
    from compliance import services as compliance
    from messaging.models import Message
    from workspaces.audit import Actor

    now = timezone.now()
    message = Message.objects.filter(workspace=workspace, direction="outbound").first()
    phone = message.to_number
    Campaign.objects.get_or_create(
        id=CAMPAIGN_ID,
        defaults=dict(
            workspace=workspace,
            test=False,
            name="Bench broadcast",
            body="Hello {{first_name|there}}",
            audience={"all": True},
            from_number=message.from_number,
            status="completed",
            launched_at=now,
            completed_at=now,
            created_at=now,
        ),
    )
    contact, _ = Contact.objects.get_or_create(
        workspace=workspace, phone=phone, defaults={"first_name": "Bench", "created_at": now}
    )
    actor = Actor.system("bench")
    compliance.consent_record(
        workspace_id=workspace.pk, phone=phone, actor=actor, method="web_form", disclosure="Yes"
    )
    compliance.suppression_create(
        workspace_id=workspace.pk, phone=phone, source="api", reason="bench", actor=actor
    )
    return {
        "message_id": message.id,
        "contact_id": contact.id,
        "campaign_id": CAMPAIGN_ID,
        "e164": phone,
    }


def main(workspace_id: str) -> dict:
    """Measure every page at 1,000 messages, grow the workspace to 1,000,000, measure again."""
    from django.test import Client

    from workspaces.models import Membership, Workspace

    from .million import million_messages

    workspace = Workspace.objects.get(pk=workspace_id)
    owner = Membership.objects.filter(workspace=workspace, role="owner").first().user
    client = Client(SERVER_NAME="localhost")
    client.force_login(owner)
    million_messages(workspace, SMALL)
    campaign_share(workspace.pk)
    urls = page_urls(workspace, samples_for(workspace))
    small = timed(client, urls)
    started = time.perf_counter()
    million_messages(workspace, BIG)
    campaign_share(workspace.pk)
    fill_seconds = round(time.perf_counter() - started, 1)
    big = timed(client, urls)
    worst = max(big, key=lambda name: big[name] / max(small[name], 0.1))
    return {
        "worst": worst,
        "value": big[worst],
        "baseline": small[worst],
        "small_ms": small,
        "big_ms": big,
        "over_budget": sorted(name for name, ms in big.items() if ms > BUDGET_MS),
        "slowest_at_big": max(big, key=big.get),
        "messages": {"small": SMALL, "big": BIG},
        "fill_seconds": fill_seconds,
        "pages_missing": sorted({name for name, _, _ in PAGES} - set(urls)),
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    print(json.dumps(main(sys.argv[1])))
