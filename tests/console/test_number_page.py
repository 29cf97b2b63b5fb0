"""The Number page (CONTRACT §12): history, the state `As of` a moment read in the workspace's
time zone, messages and refusals, keywords, and `Download evidence` for owner/admin only."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client

from compliance.models import Export
from messaging.models import Message
from messaging.numbers import messages_to, refusals_for
from messaging.records import Refusal
from tests.support.factories import next_number
from tests.support.number_story import four_moments, grant
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

MOMENTS = [datetime(2026, 11, d, 18, 0, tzinfo=UTC) for d in (10, 11, 12, 13)]
ZONE = "America/Los_Angeles"  # 18:00Z is 10:00 there in November


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(tenant, phone, part="") -> str:
    return f"/w/{tenant.workspace.slug}/numbers/{phone}/{part}"


@pytest.fixture
def story(tenant):
    tenant.workspace.timezone = ZONE
    tenant.workspace.save(update_fields=["timezone"])
    return four_moments(tenant, next_number(), MOMENTS)


def _region(html: str) -> str:
    """The `State as of …` region's markup."""
    match = re.search(
        r'<section[^>]*role="region" title="State as of ([^"]*)">(.*?)</section>', html, re.S
    )
    assert match, "no State as of region"
    return match.group(1) + "\n" + match.group(2)


def test_the_page_tells_the_whole_story(tenant, people, story):
    page = client_for(people[("A", "viewer")]).get(url(tenant, story.phone))
    assert page.status_code == 200
    html = page.content.decode()
    for record in ("grant", "revoke", "regrant", "suppression"):
        assert story.ids[record] in html, record
    region = _region(html)
    assert story.ids["regrant"] in region and story.ids["suppression"] not in region
    message_link = f"/w/{tenant.workspace.slug}/messages/{story.ids['message']}/"
    assert message_link in html
    assert "workspace_suppressed" in html  # the refused send, with the gate that decided
    assert "STOP" in html and "START" in html
    assert 'type="datetime-local"' in html and ">As of</label>" in html


@pytest.mark.parametrize(
    "local,consent,suppressed",
    [
        ("2026-11-10T10:01", "grant", False),
        ("2026-11-12T10:05", None, True),
        ("", "regrant", False),
    ],
)
def test_as_of_is_read_in_the_workspaces_time_zone(
    tenant, people, story, local, consent, suppressed
):
    page = client_for(people[("A", "owner")]).get(url(tenant, story.phone), {"as_of": local})
    region = _region(page.content.decode())
    if local:
        assert region.startswith(local.replace("T", " ") + f" ({ZONE})")
    for name in ("grant", "regrant"):
        assert (story.ids[name] in region) == (name == consent), (name, region)
    assert (story.ids["suppression"] in region) == suppressed


def test_a_backdated_consent_is_marked_recorded_later(tenant, people):
    phone = next_number()
    with time_machine.travel(MOMENTS[2], tick=False):
        backdated = grant(tenant, phone, captured_at=MOMENTS[0].isoformat())["id"]
    page = client_for(people[("A", "owner")]).get(url(tenant, phone), {"as_of": "2026-11-11T18:00"})
    html = page.content.decode()
    assert backdated in html and "recorded later" in html
    assert backdated not in _region(html)


def test_a_bad_number_shows_the_catalogue_error_not_a_500(tenant, people):
    page = client_for(people[("A", "owner")]).get(url(tenant, "not-a-number"))
    assert page.status_code == 400
    html = page.content.decode()
    assert "Not a valid phone number." in html
    assert "Correct the fields named in" in html  # the catalogue's fix


def test_a_bad_as_of_says_so_and_shows_now(tenant, people, story):
    page = client_for(people[("A", "owner")]).get(url(tenant, story.phone), {"as_of": "soon"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "`As of` is not a date and time." in html
    assert story.ids["regrant"] in _region(html)


def test_an_unknown_number_says_what_to_do_next(tenant, people):
    page = client_for(people[("A", "owner")]).get(url(tenant, next_number()))
    assert page.status_code == 200
    assert b"No consent or suppression records" in page.content


def test_workspace_bs_member_gets_404_and_b_records_never_show(tenant, other_tenant, people, story):
    outsider = client_for(people[("B", "owner")])
    assert outsider.get(url(tenant, story.phone)).status_code == 404
    assert outsider.post(url(tenant, story.phone, "evidence/")).status_code == 404
    b_story = four_moments(other_tenant, story.phone, [m + timedelta(hours=1) for m in MOMENTS])
    html = client_for(people[("A", "owner")]).get(url(tenant, story.phone)).content.decode()
    assert not any(pk in html for pk in b_story.ids.values())


@pytest.mark.parametrize("role", ["viewer", "agent", "campaign_manager"])
def test_a_role_without_the_export_right_sees_no_button_and_is_refused(tenant, people, role):
    client, phone = client_for(people[("A", role)]), next_number()
    page = client.get(url(tenant, phone))
    assert page.status_code == 200 and b"Download evidence" not in page.content
    assert client.post(url(tenant, phone, "evidence/"), {"as_of": ""}).status_code == 403
    assert not Export.objects.exists()


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_download_evidence_creates_the_number_export_and_shows_the_exports(
    tenant, people, story, role
):
    client = client_for(people[("A", role)])
    assert b"Download evidence" in client.get(url(tenant, story.phone)).content
    response = client.post(
        url(tenant, story.phone, "evidence/"), {"as_of": "2026-11-12T10:05", "format": "csv"}
    )
    assert response.status_code == 302
    export = Export.objects.get(workspace=tenant.workspace)
    assert response["Location"] == f"/w/{tenant.workspace.slug}/exports/?export={export.id}"
    assert (export.kind, export.format) == ("number", "csv")
    assert export.filters == {"phone": story.phone, "as_of": "2026-11-12T18:05:00.000000Z"}
    user = people[("A", role)]
    assert export.created_by == user.get_username()
    audit = AuditEvent.objects.get(action="export.created", target_id=export.pk)
    assert (audit.actor_type, audit.actor_id) == ("user", str(user.pk))


def test_the_number_queries_walk_an_index(tenant):
    """Among many messages and refusals to other numbers, PostgreSQL answers a number's from its
    own indexes (msg_ws_to, refusal_ws_to), so the page costs what the number's rows cost."""
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN plans are PostgreSQL's")
    now, ws = datetime(2026, 11, 27, tzinfo=UTC), tenant.workspace
    common = {"workspace": ws, "test": False, "created_at": now - timedelta(days=1)}
    Message.objects.bulk_create(
        Message(
            to_number=f"+1415555{i:04d}",
            from_number="+14155550199",
            body="x",
            status="delivered",
            **common,
        )
        for i in range(3000)
    )
    Refusal.objects.bulk_create(
        Refusal(to_number=f"+1415555{i:04d}", code="consent_required", **common)
        for i in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")
        cursor.execute(f"ANALYZE {Refusal._meta.db_table}")
    phone = "+14155550100"
    plans = {
        "msg_ws_to": messages_to(ws.pk, phone, False, now)[:50].explain(),
        "refusal_ws_to": refusals_for(ws.pk, phone, False, now)[:50].explain(),
    }
    for index, plan in plans.items():
        assert index in plan and "Sort" not in plan, plan


def test_the_page_reads_a_bounded_number_of_queries(
    tenant, people, story, django_assert_max_num_queries
):
    client = client_for(people[("A", "owner")])
    with django_assert_max_num_queries(20):
        assert client.get(url(tenant, story.phone)).status_code == 200
