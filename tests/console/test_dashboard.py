"""The dashboard: its numbers come from the summaries of the workspace and mode shown, another
workspace's never appear, the query count stays flat, and in a browser its charts render."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from campaigns.models import Campaign
from messaging import summaries
from messaging.lifecycle import finish
from messaging.models import CampaignCounter, Message, MessageHourStat
from tests.support.browser import assert_accessible
from tests.support.factories import message_for
from workspaces.errors import delivery_error

NOW = datetime(2026, 3, 10, 15, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def dial_prefixes(django_db_blocker):
    """The migration's prefixes, again if a transactional test's flush emptied the table."""
    with django_db_blocker.unblock():
        summaries.prefixes_fill()


def signed_in(user) -> Client:
    """A Django test client signed in as this user."""
    client = Client()
    client.force_login(user)
    return client


def sent(t, status="delivered", code="unknown_number", to=None):
    """A message of tenant `t` accepted by the send service, then moved to `status`."""
    message = message_for(t.workspace, t.sender, to=to)
    error = delivery_error(code, "30005") if status in ("failed", "undelivered") else None
    with transaction.atomic():
        finish(message, status, reached_provider=True, error=error)
    return message


def running_campaign(t, name: str, *, recipients=10, final=4) -> Campaign:
    """A running campaign with `final` of its messages final, by its counters."""
    campaign = Campaign.objects.create(
        workspace=t.workspace,
        name=name,
        body="Hi",
        from_number=t.sender.number,
        status=Campaign.RUNNING,
        recipients=recipients,
        skipped={"suppressed": 2},
        launched_at=NOW,
        created_at=NOW,
    )
    CampaignCounter.objects.create(
        workspace=t.workspace, campaign_id=campaign.pk, status="delivered", shard=0, n=final
    )
    return campaign


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_numbers_are_the_workspace_s_own(tenant, other_tenant, people):
    sent(tenant)
    sent(tenant)
    sent(tenant, "undelivered", "carrier_filtered", to="+442071838750")
    for _ in range(4):
        sent(other_tenant, "failed", "carrier_opted_out")
    running_campaign(tenant, "Spring sale")
    running_campaign(other_tenant, "Their secret launch")
    page = signed_in(people[("A", "viewer")]).get(f"/w/{tenant.workspace.slug}/")
    html = page.content.decode()
    assert page.status_code == 200 and "server-timing" in {h.lower() for h in page.headers}
    assert "66.7 %" in html  # 2 delivered of 3 final
    assert "carrier_filtered" in html and "GB" in html
    assert "carrier_opted_out" not in html and "Their secret launch" not in html
    assert other_tenant.sender.number not in html
    assert 'aria-label="Progress of Spring sale"' in html and "4 of 8 final" in html
    assert 'data-chart="chart-failures-error-code"' in html


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_the_mode_shown_is_the_seat_s(tenant, people):
    sent(tenant, "failed")
    client = signed_in(people[("A", "owner")])
    client.post(f"/w/{tenant.workspace.slug}/test-data/", {"test": "1"})
    html = client.get(f"/w/{tenant.workspace.slug}/").content.decode()
    assert "No messages yet" in html and "unknown_number" not in html
    assert "Read the API docs" in html


@pytest.mark.django_db
def test_query_count_is_small_and_flat(tenant, people, django_assert_max_num_queries):
    client = signed_in(people[("A", "owner")])
    url = f"/w/{tenant.workspace.slug}/"
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        sent(tenant, "failed")
        running_campaign(tenant, "Zero")
    client.get(url)  # the session and the seat warmed up alike for both counts
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    with time_machine.travel(NOW, tick=False):
        for n in range(6):
            sent(tenant, "undelivered" if n % 2 else "failed", to=f"+4420718387{n:02d}")
        running_campaign(tenant, "One")
        running_campaign(tenant, "Two")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


@pytest.mark.django_db
def test_demo_traffic_fills_every_chart_once(tenant, people):
    call_command("demo_traffic", tenant.workspace.slug, "--per-day", "40")
    count = Message.objects.filter(workspace=tenant.workspace).count()
    call_command("demo_traffic", tenant.workspace.slug, "--per-day", "40")
    assert Message.objects.filter(workspace=tenant.workspace).count() == count > 500
    rows = MessageHourStat.objects.filter(workspace=tenant.workspace)
    assert {r for r in rows.values_list("dimension", flat=True)} == {
        "status",
        "error_code",
        "country",
        "sender",
    }
    assert sum(rows.filter(dimension="status").values_list("n", flat=True)) == count
    html = signed_in(people[("A", "viewer")]).get(f"/w/{tenant.workspace.slug}/").content.decode()
    for chart in ("chart-status", "chart-failures-error-code", "chart-failures-country"):
        assert f'data-chart="{chart}"' in html
    assert 'data-chart="chart-failures-sender"' in html and "No messages yet" not in html


@pytest.mark.django_db(transaction=True)
def test_the_page_renders_charts_and_tables_in_a_browser(page_as, tenant, people):
    tenant.workspace.spend_limit = Decimal("500")
    tenant.workspace.save(update_fields=["spend_limit"])
    call_command("demo_traffic", tenant.workspace.slug, "--per-day", "20")
    page = page_as(people[("A", "viewer")])
    page.goto(f"/w/{tenant.workspace.slug}/")
    for name in ("Messages by status", "Failures by error code", "Failures by country"):
        region = page.get_by_role("region", name=name)
        region.get_by_role("img").wait_for()
        assert region.get_by_role("table").count() == 1
    region = page.get_by_role("region", name="Failures by sender")
    assert region.get_by_role("columnheader", name="Day").is_visible()
    page.locator("canvas[data-rendered='1']").nth(3).wait_for()  # all four drawn by Chart.js
    assert page.get_by_role("meter", name="Spend against the limit").is_visible()
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_phone_width_and_the_empty_state(page_as, tenant, people):
    page = page_as(people[("A", "owner")], width=390, height=800)
    page.goto(f"/w/{tenant.workspace.slug}/")
    region = page.get_by_role("region", name="No messages yet")
    assert region.get_by_role("link", name="Read the API docs").is_visible()
    assert page.get_by_role("region", name="Running campaigns").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
