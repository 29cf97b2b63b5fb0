"""The dashboard's hourly summaries: kept by triggers as messages are inserted and change status,
failures by code, country and sender, split by mode and workspace, read in the workspace's days."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction

from messaging import summaries
from messaging.lifecycle import finish
from messaging.models import Message, MessageHourStat
from messaging.stats import campaign_final_counts, dashboard_summary
from workspaces.errors import delivery_error

from ..support.factories import message_for, next_number

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def dial_prefixes(django_db_blocker):
    """The migration's prefixes, again if a transactional test's flush emptied the table."""
    with django_db_blocker.unblock():
        summaries.prefixes_fill()


def stats(workspace, test=False) -> dict:
    """{(dimension, key): n} of the workspace's non-zero summary rows of one mode."""
    rows = MessageHourStat.objects.filter(workspace=workspace, test=test).exclude(n=0)
    return {(r.dimension, r.key): r.n for r in rows}


def mode_test_message(t):
    """A test-mode message, to a recipient the workspace has verified."""
    to = next_number()
    t.workspace.verified_recipients = [*t.workspace.verified_recipients, to]
    t.workspace.save(update_fields=["verified_recipients"])
    return message_for(t.workspace, t.sender, to=to, test=True)


def fail(message, status="failed", code="unknown_number"):
    """A final failure through the lifecycle, as a provider report applies it."""
    with transaction.atomic():
        finish(message, status, reached_provider=True, error=delivery_error(code, "30005"))


@time_machine.travel(NOW, tick=False)
def test_an_insert_counts_in_its_creation_hour(tenant):
    message_for(tenant.workspace, tenant.sender)
    row = MessageHourStat.objects.get(workspace=tenant.workspace, dimension="status")
    assert (row.key, row.n, row.test) == ("queued", 1, False)
    assert row.hour == NOW.replace(minute=0)


@time_machine.travel(NOW, tick=False)
def test_a_status_change_moves_the_count(tenant):
    message = message_for(tenant.workspace, tenant.sender)
    with transaction.atomic():
        finish(message, "delivered", reached_provider=True)
    assert stats(tenant.workspace) == {("status", "delivered"): 1}
    assert MessageHourStat.objects.get(key="queued").n == 0


@time_machine.travel(NOW, tick=False)
def test_failures_count_by_code_country_and_sender(tenant):
    message = message_for(tenant.workspace, tenant.sender, to="+442071838750")
    message_for(tenant.workspace, tenant.sender)  # still queued: no failure dimensions
    fail(message, "undelivered", "carrier_filtered")
    assert stats(tenant.workspace) == {
        ("status", "queued"): 1,
        ("status", "undelivered"): 1,
        ("error_code", "carrier_filtered"): 1,
        ("country", "GB"): 1,
        ("sender", tenant.sender.number): 1,
    }


@time_machine.travel(NOW, tick=False)
def test_a_changed_error_moves_the_failure_code(tenant):
    message = message_for(tenant.workspace, tenant.sender)
    fail(message, "failed", "unknown_number")
    Message.objects.filter(pk=message.pk).update(error=delivery_error("carrier_opted_out"))
    found = stats(tenant.workspace)
    assert found[("error_code", "carrier_opted_out")] == 1
    assert ("error_code", "unknown_number") not in found


@time_machine.travel(NOW, tick=False)
def test_modes_and_workspaces_are_counted_apart(tenant, other_tenant):
    mode_test_message(tenant)
    fail(message_for(other_tenant.workspace, other_tenant.sender))
    assert stats(tenant.workspace) == {}
    assert stats(tenant.workspace, test=True) == {("status", "queued"): 1}
    live = dashboard_summary(workspace=tenant.workspace, test=False, now=NOW)
    assert live.sent_total == 0 and live.failures["error_code"].total == 0
    shown = dashboard_summary(workspace=tenant.workspace, test=True, now=NOW)
    assert shown.by_status["today"]["queued"] == 1


@time_machine.travel(NOW, tick=False)
def test_bulk_inserts_and_mass_updates_keep_the_summaries(tenant):
    first = message_for(tenant.workspace, tenant.sender)
    copies = [
        Message(
            workspace=tenant.workspace,
            body="bulk",
            to_number=f"+1416555{n:04d}",
            from_number=tenant.sender.number,
            status="queued",
            created_at=NOW - timedelta(days=2),
        )
        for n in range(5)
    ]
    Message.objects.bulk_create(copies)
    Message.objects.filter(workspace=tenant.workspace).exclude(pk=first.pk).update(
        status="failed", error=delivery_error("unknown_number")
    )
    found = stats(tenant.workspace)
    assert found[("status", "failed")] == 5 and found[("status", "queued")] == 1
    assert found[("country", "CA")] == 5  # +1 416 is Toronto


def test_days_follow_the_workspace_time_zone(tenant):
    late_evening_in_new_york = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)  # 23:30 on the 9th, EDT
    with time_machine.travel(late_evening_in_new_york, tick=False):
        fail(message_for(tenant.workspace, tenant.sender))
    morning = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    tenant.workspace.timezone = "America/New_York"
    local = dashboard_summary(workspace=tenant.workspace, test=False, now=morning)
    assert local.by_status["today"]["failed"] == 0
    assert local.by_status["7 days"]["failed"] == 1
    assert local.failures["error_code"].counts["unknown_number"][-2:] == [1, 0]
    tenant.workspace.timezone = "UTC"
    utc = dashboard_summary(workspace=tenant.workspace, test=False, now=morning)
    assert utc.by_status["today"]["failed"] == 1


def test_thirty_days_end_and_delivery_rate(tenant):
    for days_ago, status in ((31, "delivered"), (29, "delivered"), (3, "delivered"), (0, "failed")):
        with time_machine.travel(NOW - timedelta(days=days_ago), tick=False):
            message = message_for(tenant.workspace, tenant.sender)
            if status == "delivered":
                with transaction.atomic():
                    finish(message, "delivered", reached_provider=True)
            else:
                fail(message)
    summary = dashboard_summary(workspace=tenant.workspace, test=False, now=NOW)
    assert summary.by_status["30 days"]["delivered"] == 2  # the one 31 days ago is out
    assert summary.by_status["7 days"]["delivered"] == 1
    assert str(summary.delivery_rate["30 days"]) == "66.7"
    assert summary.delivery_rate["today"] == 0
    assert summary.spend > 0 and summary.spend_limit == tenant.workspace.spend_limit


@time_machine.travel(NOW, tick=False)
def test_rebuild_recounts_what_the_triggers_kept(tenant, other_tenant):
    fail(message_for(tenant.workspace, tenant.sender))
    mode_test_message(tenant)
    message_for(other_tenant.workspace, other_tenant.sender)
    columns = ("workspace", "test", "dimension", "key", "n")
    kept = sorted(MessageHourStat.objects.exclude(n=0).values_list(*columns))
    MessageHourStat.objects.all().delete()
    summaries.rebuild(connection, batch=2)
    rebuilt = sorted(MessageHourStat.objects.values_list(*columns))
    assert rebuilt == kept and len(kept) == 6


def test_campaign_final_counts_are_per_campaign(tenant):
    from messaging.models import CampaignCounter

    CampaignCounter.objects.bulk_create(
        [
            CampaignCounter(workspace=tenant.workspace, campaign_id="cmp_a", status=s, shard=0, n=n)
            for s, n in (("delivered", 3), ("failed", 1), ("queued", 5))
        ]
    )
    assert campaign_final_counts(campaign_ids=["cmp_a", "cmp_b"]) == {"cmp_a": 4, "cmp_b": 0}


def test_the_triggers_are_in_place():
    """A later migration that rebuilds messaging_message on SQLite drops triggers: install again."""
    assert summaries.installed(connection) == {"msg_stats_insert", "msg_stats_update"}
