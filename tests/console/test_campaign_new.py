"""New campaign over HTTP (CONTRACT §12, issue 14): `Review` saves a draft through the API's
serializer and services and shows the API's own dry run as a table, with the spend left, the
time the sender's rate takes and whom quiet hours hold; `Launch` launches only a review that is
still true; tenancy, roles, the catalogue's errors, the mode shown and the workspace's time zone."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from campaigns.models import Campaign
from campaigns.services.templates import template_create
from console.access import TEST_DATA_SESSION_KEY
from messaging.pricing import spend_reserve
from tests.support.campaign_audience import BODY, MIXED_SKIPS, mixed_audience, tagged
from tests.support.factories import sender_for
from workspaces.models import AuditEvent, Workspace
from workspaces.selectors import month_to_date_spend

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr><th scope="row">(?:<code>)?([^<]+)(?:</code>)?</th><td class="num">([^<]*)')


def client_for(user, *, test_data_in=None) -> Client:
    client = Client()
    client.force_login(user)
    if test_data_in is not None:
        session = client.session
        session[TEST_DATA_SESSION_KEY] = {test_data_in.pk: True}
        session.save()
    return client


def url(tenant) -> str:
    return f"/w/{tenant.workspace.slug}/campaigns/new/"


def vip(tenant, count=1, **fields):
    """Contacts tagged vip, where it is midday now."""
    return tagged(tenant.workspace, count, **fields)


def form(tenant, **fields) -> dict:
    return {
        "name": "Spring sale",
        "body": BODY,
        "tags": "vip",
        "sender": tenant.sender.number,
        "action": "review",
        **fields,
    }


def table(html: str) -> dict:
    """The review table's rows: header → value."""
    return dict(ROW.findall(html))


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def reviewed(client, tenant, **fields):
    response = client.post(url(tenant), form(tenant, **fields))
    assert response.status_code == 200, response.content.decode()[:2000]
    html = response.content.decode()
    return html, Campaign.objects.get(pk=hidden(html, "campaign"))


def launch(client, tenant, review_html: str, campaign, **fields):
    """`Launch` from the review shown in review_html (its fingerprint), the form as given."""
    fingerprint = fields.pop("fingerprint", None) or hidden(review_html, "fingerprint")
    payload = form(tenant, action="launch", campaign=campaign.pk, fingerprint=fingerprint)
    return client.post(url(tenant), {**payload, **fields})


@pytest.fixture
def manager(tenant, people):
    return client_for(people[("A", "campaign_manager")])


def test_the_form_preselects_the_default_sender(tenant, manager):
    second = sender_for(tenant.workspace)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(default_sender=second.number)
    html = manager.get(url(tenant)).content.decode()
    assert f'<option value="{second.number}" selected>' in html
    assert f'<option value="{tenant.sender.number}">' in html
    for label in ("Name", "Message", "Template", "Tags", "Everyone", "From", "Send at"):
        assert f">{label}</label>" in html
    assert ">Review</button>" in html and ">Launch</button>" not in html


def test_the_review_table_is_the_apis_dry_run(tenant, other_tenant, manager):
    mixed_audience(tenant.workspace)
    vip(other_tenant, 3)  # never in A's audience
    html, campaign = reviewed(manager, tenant)
    assert campaign.status == Campaign.DRAFT and campaign.workspace_id == tenant.workspace.pk
    api = tenant.client().post(f"/api/v1/campaigns/{campaign.pk}/dry-run").json()
    assert api["skipped"] == MIXED_SKIPS
    rows = table(html)
    assert rows["Recipients"] == str(api["recipients"]) == "6"
    codes = {k: int(v) for k, v in rows.items() if re.fullmatch(r"[a-z_]+", k)}
    assert codes == api["skipped"]
    assert rows["Messages"] == str(api["messages"])
    assert rows["Segments"] == str(api["segments"])
    assert rows["Cost"] == f"{api['cost']} USD"
    assert rows["Spend left after it"] == "No spend limit"
    assert rows["Takes"] == "about 2 seconds at 1 message per second"
    assert rows["Held by quiet hours"] == "0"
    assert ">Launch</button>" in html


def test_a_launch_from_a_true_review_lands_on_the_campaign(tenant, people, manager):
    vip(tenant, 2)
    html, campaign = reviewed(manager, tenant)
    response = launch(manager, tenant, html, campaign)
    assert response.status_code == 302
    assert response["Location"] == f"/w/{tenant.workspace.slug}/campaigns/{campaign.pk}/"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.RUNNING and campaign.recipients == 2
    cost = Decimal(table(html)["Cost"].removesuffix(" USD"))
    assert cost > 0 and month_to_date_spend(workspace=tenant.workspace) == cost  # reserved
    event = AuditEvent.objects.get(workspace=tenant.workspace, action="campaign.launched")
    member = people[("A", "campaign_manager")]
    assert (event.actor_type, event.actor_id) == ("user", str(member.pk))
    assert event.target_id == campaign.pk
    again = manager.post(url(tenant), form(tenant, action="launch", campaign=campaign.pk))
    assert again.status_code == 302  # a Launch posted twice launches once
    assert AuditEvent.objects.filter(action="campaign.launched").count() == 1


def test_a_stale_review_is_not_launched(tenant, manager):
    vip(tenant, 2)
    html, campaign = reviewed(manager, tenant)
    vip(tenant)  # the audience grew after the review
    response = launch(manager, tenant, html, campaign)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Review again" in page
    assert table(page)["Recipients"] == "3"  # the new review
    campaign.refresh_from_db()
    assert campaign.status == Campaign.DRAFT
    fresh = hidden(page, "fingerprint")
    assert fresh != hidden(html, "fingerprint")
    launched = launch(manager, tenant, page, campaign)
    assert launched.status_code == 302


def test_a_changed_spend_or_form_is_a_stale_review(tenant, manager):
    vip(tenant, 2)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(spend_limit=Decimal("10"))
    html, campaign = reviewed(manager, tenant)
    assert table(html)["Spend left after it"].startswith("9.98")
    workspace = Workspace.objects.get(pk=tenant.workspace.pk)
    assert spend_reserve(workspace=workspace, amount=Decimal("1"))  # another send spent
    spent = launch(manager, tenant, html, campaign)
    assert spent.status_code == 409 and "Review again" in spent.content.decode()
    edited = launch(manager, tenant, spent.content.decode(), campaign, body="Other {{first_name}}")
    assert edited.status_code == 409
    campaign.refresh_from_db()
    assert campaign.status == Campaign.DRAFT and campaign.body == "Other {{first_name}}"


def test_over_the_spend_limit_the_review_and_the_launch_show_the_402(tenant, manager):
    vip(tenant, 2)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(spend_limit=Decimal("0.0010"))
    html, campaign = reviewed(manager, tenant)
    assert "spend_limit_exceeded" in html
    assert "Raise the workspace&#x27;s spend_limit" in html  # the catalogue's fix
    response = launch(manager, tenant, html, campaign)
    assert response.status_code == 402
    page = response.content.decode()
    assert "Sending this would take the month&#x27;s spend past the workspace&#x27;s limit." in page
    campaign.refresh_from_db()
    assert campaign.status == Campaign.DRAFT


def test_bad_input_gets_the_catalogues_validation_error(tenant, manager):
    no_audience = manager.post(url(tenant), form(tenant, tags=""))
    assert no_audience.status_code == 400
    html = no_audience.content.decode()
    assert "The request is malformed." in html and "Correct the fields named in" in html
    assert "Give either" in html
    unknown = manager.post(url(tenant), form(tenant, body="Hi {{nickname}}"))
    assert (
        unknown.status_code == 400 and "Unknown merge fields: nickname" in unknown.content.decode()
    )
    assert not Campaign.objects.filter(workspace=tenant.workspace).exists()


def test_quiet_hours_held_are_counted_with_until_when(tenant, manager):
    hour = datetime.now(UTC).hour
    offset = (2 - hour + 12) % 24 - 12  # hours east of UTC where it is about 02:00 now
    night = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    vip(tenant, 2)
    vip(tenant, timezone=night)
    html, _ = reviewed(manager, tenant)
    held = table(html)["Held by quiet hours"]
    assert held.startswith("1 until "), held


def test_send_at_is_read_in_the_workspaces_time_zone(tenant, manager):
    Workspace.objects.filter(pk=tenant.workspace.pk).update(timezone="America/New_York")
    vip(tenant, 1)
    zone = ZoneInfo("America/New_York")
    local = (datetime.now(zone) + timedelta(days=2)).replace(second=0, microsecond=0)
    html, campaign = reviewed(manager, tenant, send_at=local.strftime("%Y-%m-%dT%H:%M"))
    assert campaign.send_at == local
    launched = launch(manager, tenant, html, campaign, send_at=local.strftime("%Y-%m-%dT%H:%M"))
    assert launched.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.SCHEDULED


def test_the_draft_is_made_in_the_mode_shown(tenant, people):
    client = client_for(people[("A", "campaign_manager")], test_data_in=tenant.workspace)
    vip(tenant, 1)
    _, campaign = reviewed(client, tenant)
    assert campaign.test is True
    live = client_for(people[("A", "campaign_manager")])
    response = live.post(url(tenant), form(tenant, campaign=campaign.pk))
    assert response.status_code == 404  # a test draft is not the live mode's


def test_another_workspaces_member_and_draft_get_404(tenant, other_tenant, people, manager):
    outsider = client_for(people[("B", "owner")])
    assert outsider.get(url(tenant)).status_code == 404
    assert outsider.post(url(tenant), form(tenant)).status_code == 404
    vip(other_tenant, 1)
    _, theirs = reviewed(client_for(people[("B", "campaign_manager")]), other_tenant)
    mine = manager.post(url(tenant), form(tenant, campaign=theirs.pk))
    assert mine.status_code == 404


def test_a_viewer_gets_no_form_and_a_posted_launch_is_403(tenant, people):
    vip(tenant, 1)
    viewer = client_for(people[("A", "viewer")])
    assert viewer.get(url(tenant)).status_code == 403
    posted = viewer.post(url(tenant), form(tenant, action="launch"))
    assert posted.status_code == 403
    agent = client_for(people[("A", "agent")])
    assert agent.post(url(tenant), form(tenant)).status_code == 403
    assert not Campaign.objects.filter(workspace=tenant.workspace).exists()


def test_the_time_it_takes_follows_the_throttle(tenant, manager):
    vip(tenant, 2)
    html, campaign = reviewed(manager, tenant, throttle="30")
    assert campaign.throttle_per_minute == 30
    assert table(html)["Takes"] == "about 4 seconds at 30 messages per minute"


def test_the_template_pages_link_preselects_the_template(tenant, manager):
    template = template_create(workspace_id=tenant.workspace.pk, name="Promo", body="Hi")
    page = manager.get(f"/w/{tenant.workspace.slug}/templates/{template.pk}/").content.decode()
    link = f"/w/{tenant.workspace.slug}/campaigns/new/?template={template.pk}"
    assert f'href="{link}"' in page
    html = manager.get(link).content.decode()
    assert f'<option value="{template.pk}" selected>Promo</option>' in html
    vip(tenant, 1)
    _, campaign = reviewed(manager, tenant, body="", template=template.pk)
    assert campaign.template_id == template.pk and campaign.body == ""
