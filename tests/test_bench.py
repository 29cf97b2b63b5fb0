"""The bench's own world: its database and Redis are never the given ones, and its campaigns do
not wait for quiet hours whatever the hour it runs at."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bench import campaign_world, harness
from bench.zones import midday_zone
from campaigns.models import Contact
from messaging.actions.dispatch import message_claim
from messaging.models import Message


def test_the_bench_database_is_beside_the_given_one(monkeypatch):
    """`<name>_bench` on the same server, user and options; an override must still say bench
    and may not be the given database (the bench drops it)."""
    monkeypatch.delenv("BENCH_DATABASE_NAME", raising=False)
    given = "postgres://app:pw@db.internal:6543/tern?sslmode=require"
    name = harness.bench_database_name("tern")
    assert name == "tern_bench"
    assert (
        harness.with_path(given, name)
        == "postgres://app:pw@db.internal:6543/tern_bench?sslmode=require"
    )
    monkeypatch.setenv("BENCH_DATABASE_NAME", "tern_bench_e")
    assert harness.bench_database_name("tern_e") == "tern_bench_e"
    for refused in ("tern_e", "production"):
        monkeypatch.setenv("BENCH_DATABASE_NAME", refused)
        with pytest.raises(harness.BenchError, match=f"refusing to use database '{refused}'"):
            harness.bench_database_name("tern_e")


def test_a_sqlite_database_url_is_left_alone(monkeypatch, tmp_path):
    """With a SQLite DATABASE_URL the bench works in a file of its own under var/bench."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'mine.sqlite3'}")
    monkeypatch.setattr(harness, "BENCH_DIR", tmp_path / "bench")
    (tmp_path / "bench").mkdir()
    mine = tmp_path / "bench" / "bench.sqlite3"
    with harness.database() as (url, kind):
        assert (url, kind) == (f"sqlite:///{mine}", "sqlite")
        mine.write_bytes(b"")  # what migrate would have made
    assert not mine.exists()


class _FakeRedis:
    flushed: list = []

    def __init__(self, url, **options):
        self.url = url

    def flushdb(self):
        self.flushed.append(self.url)


def test_the_bench_redis_databases_are_none_of_the_given_ones(monkeypatch):
    """Three databases of the given server that REDIS_URL and CELERY_BROKER_URL do not name,
    each emptied before use; the server gets them, not the given URLs."""
    monkeypatch.setattr(harness.redis.Redis, "from_url", _FakeRedis)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    harness.redis_plan.cache_clear()
    _FakeRedis.flushed = []
    try:
        plan = harness.redis_plan()
        env = harness.server_env("postgres://postgres@127.0.0.1:5432/x_bench")
    finally:
        harness.redis_plan.cache_clear()
    assert plan == harness.RedisPlan(
        server_broker="redis://127.0.0.1:6379/14",
        worker_broker="redis://127.0.0.1:6379/12",
        marks="redis://127.0.0.1:6379/11",
    )
    assert _FakeRedis.flushed == [plan.server_broker, plan.worker_broker, plan.marks]
    assert env["REDIS_URL"] == plan.marks and env["CELERY_BROKER_URL"] == plan.server_broker
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/x_bench"


def test_midday_zone_is_at_noon_whatever_the_hour():
    """For every UTC hour the zone's local time is 12:00."""
    for hour in range(24):
        now = datetime(2026, 1, 5, hour, 30, tzinfo=ZoneInfo("UTC"))
        assert now.astimezone(ZoneInfo(midday_zone(now))).hour == 12, hour


@pytest.mark.django_db
def test_bench_campaigns_are_not_held_by_quiet_hours_at_night():
    """At 03:00 in New York the bench's New York contacts are claimed at once (their zone is at
    midday), where the same numbers without a zone would wait for 08:00."""
    night = datetime(2026, 3, 10, 3, 0, tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(night, tick=False):
        workspace = campaign_world.workspace_new("night")
        sender = campaign_world.short_code(workspace, 100)
        numbers = campaign_world.phones(3)
        campaign_world.audience(workspace, numbers, consent=numbers, suppressed=[])
        Contact.objects.filter(phone=numbers[2]).update(timezone="")  # the old bench contacts
        campaign = campaign_world.campaign_new(workspace, sender)
        campaign_world.launch(campaign)
        messages = {m.to_number: m for m in Message.objects.filter(campaign_id=campaign.pk)}
        assert len(messages) == 3
        for phone in numbers[:2]:
            claimed = message_claim(message_id=messages[phone].id)
            assert claimed is not None and claimed.status == "sending", phone
        assert message_claim(message_id=messages[numbers[2]].id) is None
        held = Message.objects.get(pk=messages[numbers[2]].id)
        assert held.events.filter(event="held_quiet_hours").exists()
