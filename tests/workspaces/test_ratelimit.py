"""The per-workspace rate limit: a token bucket under real concurrent HTTP, and in moved time."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
import time_machine

from workspaces import clock
from workspaces.errors import TernError
from workspaces.models import Workspace
from workspaces.ratelimit import bucket_store, workspace_rate_check

BURST = 40
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def unique_key() -> str:
    """A bucket key no other test (or earlier run against the same Redis) has used."""
    return f"test:{uuid.uuid4().hex}"


def take_many(key: str, n: int, rate: float = 5.0) -> list[float]:
    """n takes from one bucket at the current (frozen) time; 0.0 means allowed."""
    store, now = bucket_store(), clock.now().timestamp()
    return [store.take(key, rate, now) for _ in range(n)]


# --- The bucket, with time moved by time-machine -------------------------------------------------


def test_bucket_allows_capacity_then_limits():
    """Capacity 5: five takes pass, the sixth waits a fifth of a second."""
    with time_machine.travel(START, tick=False):
        waits = take_many(unique_key(), 6)
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(0.2)


def test_bucket_refills_after_one_second():
    """After 1 s moved, exactly five more pass."""
    key = unique_key()
    with time_machine.travel(START, tick=False) as traveller:
        assert take_many(key, 6).count(0.0) == 5
        traveller.shift(1)
        waits = take_many(key, 6)
    assert waits[:5] == [0.0] * 5 and waits[5] > 0


def test_bucket_refills_in_proportion():
    """A quarter second refills 1.25 tokens: one take passes, the next does not."""
    key = unique_key()
    with time_machine.travel(START, tick=False) as traveller:
        take_many(key, 5)
        traveller.shift(0.25)
        waits = take_many(key, 2)
    assert waits[0] == 0.0 and waits[1] > 0


def test_bucket_never_holds_more_than_capacity():
    """A long idle spell refills to capacity, not beyond."""
    key = unique_key()
    with time_machine.travel(START, tick=False) as traveller:
        take_many(key, 5)
        traveller.shift(3600)
        assert take_many(key, 6).count(0.0) == 5


def test_lowered_rate_applies_at_once():
    """Lowering the rate caps the bucket even when the clock has not moved."""
    key = unique_key()
    with time_machine.travel(START, tick=False):
        assert take_many(key, 1, rate=50.0) == [0.0]
        assert take_many(key, 10, rate=5.0).count(0.0) == 5


def test_buckets_are_separate_per_key():
    """Draining one workspace's bucket leaves another's full."""
    first, second = unique_key(), unique_key()
    with time_machine.travel(START, tick=False):
        take_many(first, 5)
        assert take_many(first, 1)[0] > 0
        assert take_many(second, 5) == [0.0] * 5


def test_rate_check_raises_rate_limited_with_retry_after():
    """The sixth check in one instant raises rate_limited with Retry-After in whole seconds."""
    workspace = Workspace(rate_limit_per_second=5)  # unsaved: its fresh id is a fresh key
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            workspace_rate_check(workspace)
        with pytest.raises(TernError) as refused:
            workspace_rate_check(workspace)
    assert refused.value.code == "rate_limited"
    assert refused.value.http_status == 429
    assert refused.value.headers == {"Retry-After": "1"}
    assert refused.value.details == {"retry_after": 1, "limit_per_second": 5}


# --- Real concurrent HTTP against the live server ------------------------------------------------


def _open_sessions(base_url: str) -> list[requests.Session]:
    """BURST keep-alive connections, opened before the burst on a route with no rate limit.

    The test server's listen backlog is 10: forty cold connects would partly be retried a second
    later, and the bucket would rightly refill meanwhile. Warm connections make the burst a burst.
    """
    sessions = [requests.Session() for _ in range(BURST)]
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        warm = list(
            pool.map(lambda s: s.get(f"{base_url}/api/v1/no-such-route", timeout=30), sessions)
        )
    assert {r.status_code for r in warm} == {404}
    return sessions


def _connections_made(session: requests.Session, url: str) -> int:
    pools = session.get_adapter(url).poolmanager.pools
    return sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118 (no __iter__)


def _burst(base_url: str, secret: str) -> list[requests.Response]:
    """BURST requests released together from BURST threads, each on its own warm connection."""
    sessions, url = _open_sessions(base_url), f"{base_url}/api/v1/workspace"
    barrier = threading.Barrier(BURST)
    headers = {"Authorization": f"Bearer {secret}"}

    def call(session):
        barrier.wait(timeout=30)
        return session.get(url, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        responses = list(pool.map(call, sessions))
    assert all(_connections_made(s, url) == 1 for s in sessions)  # no reconnects in the burst
    return responses


def _assert_rate_limited(response: requests.Response) -> None:
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_burst_is_held_to_the_bucket(live_server, tenant):
    """40 concurrent requests at 5/s: at most 10 pass (5 + one second's refill), the rest 429."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(rate_limit_per_second=5)
    responses = _burst(live_server.url, tenant.secrets[("owner", "live")])
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}
    assert 1 <= statuses.count(200) <= 10
    for response in responses:
        if response.status_code == 429:
            _assert_rate_limited(response)


@pytest.mark.django_db(transaction=True)
def test_concurrent_burst_in_frozen_time_passes_exactly_capacity(live_server, tenant):
    """With the clock frozen (no refill), exactly 5 of 40 concurrent requests pass."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(rate_limit_per_second=5)
    with time_machine.travel(clock.now(), tick=False):
        responses = _burst(live_server.url, tenant.secrets[("owner", "live")])
    statuses = [r.status_code for r in responses]
    assert (statuses.count(200), statuses.count(429)) == (5, BURST - 5)
    for response in responses:
        if response.status_code == 429:
            _assert_rate_limited(response)
