"""The console's Send spends the workspace's API rate limit (CONTRACT §12: the same rules as the
API) and, over it, shows the catalogue's `rate_limited` with when to try again."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from messaging.models import Message, Refusal
from workspaces import clock
from workspaces.errors import spec
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client, tenant, body: str):
    """One Send form, a fresh form key each time (a new request, not a repeat)."""
    form = {"to": "+14155550177", "sender": tenant.sender.number, "body": body}
    form["key"] = uuid.uuid4().hex
    return client.post(f"/w/{tenant.workspace.slug}/messages/new/", form)


def _sent(tenant) -> list[str]:
    return sorted(Message.objects.for_workspace(tenant.workspace).values_list("body", flat=True))


@pytest.fixture
def limited(tenant, other_tenant):
    """Both workspaces held to one request a second; the clock stands still (no refill)."""
    Workspace.objects.filter(pk__in=[tenant.workspace.pk, other_tenant.workspace.pk]).update(
        rate_limit_per_second=1
    )
    # A whole second: the Redis bucket keeps times as Lua's 14-digit text, which would round a
    # microsecond part and leave a refill a hair short of one token.
    with time_machine.travel(clock.now().replace(microsecond=0), tick=False) as traveller:
        yield traveller


def test_over_the_limit_the_console_shows_rate_limited_and_sends_nothing(
    tenant, other_tenant, people, limited
):
    owner = _signed_in(people[("A", "owner")])
    assert _post(owner, tenant, "first").status_code == 302
    refused = _post(owner, tenant, "second")
    assert refused.status_code == 429
    page = refused.content.decode().replace("&#x27;", "'")
    assert spec("rate_limited").message in page and "Try again in 1 second." in page
    assert _sent(tenant) == ["first"]
    refusal = Refusal.objects.for_workspace(tenant.workspace).get()
    assert (refusal.code, refusal.via, refusal.count) == ("rate_limited", "console", 1)
    # The second workspace's bucket is its own: its first send passes at the same moment.
    assert _post(_signed_in(people[("B", "owner")]), other_tenant, "theirs").status_code == 302
    assert _sent(other_tenant) == ["theirs"]
    # A second later the bucket has refilled.
    limited.shift(timedelta(seconds=1))
    assert _post(owner, tenant, "third").status_code == 302
    assert _sent(tenant) == ["first", "third"]


def test_api_requests_and_console_sends_share_one_bucket(tenant, people, limited):
    assert tenant.client().get("/api/v1/messages").status_code == 200
    assert _post(_signed_in(people[("A", "owner")]), tenant, "after the api").status_code == 429
    assert _sent(tenant) == []


def test_console_429s_of_two_workspaces_in_one_minute_stay_apart(
    tenant, other_tenant, people, limited
):
    """Console sends have no token: their 429s must not count into another workspace's row."""
    for who, mine in ((people[("A", "owner")], tenant), (people[("B", "owner")], other_tenant)):
        client = _signed_in(who)
        _post(client, mine, "passes")
        assert _post(client, mine, "refused").status_code == 429
    for mine in (tenant, other_tenant):
        rows = Refusal.objects.for_workspace(mine.workspace).filter(code="rate_limited")
        assert [(r.via, r.count) for r in rows] == [("console", 1)]
