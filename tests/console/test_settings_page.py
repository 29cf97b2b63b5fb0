"""The Settings page over HTTP (CONTRACT §12, §2): the API's WorkspaceSerializer validates, the
same service saves and audits, members without `workspace:manage` only read."""

from decimal import Decimal

import pytest
from django.test import Client

from console.forms.settings import FIELD_TEXT, writable_fields
from workspaces.models import AuditEvent, Workspace

from ..support.browser import assert_accessible

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def settings_url(tenant) -> str:
    return f"/w/{tenant.workspace.slug}/settings/"


def form_of(tenant, **changes) -> dict:
    """The form as the page would post it unchanged, with `changes` on top."""
    ws = tenant.workspace
    data = {
        "name": ws.name,
        "slug": ws.slug,
        "spend_limit": "" if ws.spend_limit is None else str(ws.spend_limit),
        "allowed_countries": ", ".join(ws.allowed_countries),
        "verified_recipients": "\n".join(ws.verified_recipients),
        "duplicate_window_seconds": str(ws.duplicate_window_seconds),
        "rate_limit_per_second": str(ws.rate_limit_per_second),
        "default_sender": ws.default_sender,
        "default_country": ws.default_country,
        "help_text": ws.help_text,
        "blocked_terms": "\n".join(ws.blocked_terms),
        **{name: getattr(ws, name, "") for name in ("timezone",) if hasattr(ws, name)},
        **changes,
    }
    return {k: v for k, v in data.items() if v is not False}


def test_every_writable_field_of_the_api_has_words():
    for name in writable_fields():
        label, help_text, _ = FIELD_TEXT[name]
        assert label and help_text, name
    for name in ("timezone", "require_two_factor"):
        assert name in FIELD_TEXT


def test_manager_sees_labelled_fields_with_help_and_save(tenant, people):
    page = client_for(people[("A", "admin")]).get(settings_url(tenant)).content.decode()
    for label in (
        "Spend limit",
        "Allowed countries",
        "Duplicate window",
        "Rate limit per second",
        "Default sender",
        "Default country",
        "Help text",
        "Blocked terms",
        "Verified recipients",
        "Test mode",
        "Name",
    ):
        assert f">{label}</label>" in page, label
    assert "from 1 to 500" in page  # limits in the help under the field
    assert '<button type="submit">Save</button>' in page


def test_settings_are_saved_and_audited_with_before_and_after(tenant, people):
    owner = people[("A", "owner")]
    client = client_for(owner)
    response = client.post(
        settings_url(tenant),
        form_of(
            tenant,
            spend_limit="250.5",
            rate_limit_per_second="20",
            allowed_countries="us, ca fr",
            blocked_terms="Casino\nlottery",
            test_mode="1",
        ),
    )
    assert response.status_code == 302
    ws = Workspace.objects.get(pk=tenant.workspace.pk)
    assert ws.spend_limit == Decimal("250.5") and ws.rate_limit_per_second == 20
    assert ws.allowed_countries == ["CA", "FR", "US"] and ws.blocked_terms == ["casino", "lottery"]
    assert ws.test_mode is True
    event = AuditEvent.objects.filter(action="workspace.updated").latest("seq")
    assert event.actor_type == "user" and event.actor_id == str(owner.pk)
    assert (
        event.before["rate_limit_per_second"] == 50 and event.after["rate_limit_per_second"] == 20
    )
    assert event.before["test_mode"] is False and event.after["test_mode"] is True
    assert "name" not in event.after  # unchanged fields are not in the audit
    follow = client.get(settings_url(tenant)).content.decode()
    assert "Settings saved." in follow and "250.5000" in follow


def test_unchecked_box_turns_a_setting_off_and_empty_limit_is_none(tenant, people):
    Workspace.objects.filter(pk=tenant.workspace.pk).update(test_mode=True, spend_limit=10)
    tenant.workspace.refresh_from_db()
    client_for(people[("A", "admin")]).post(settings_url(tenant), form_of(tenant, spend_limit=""))
    ws = Workspace.objects.get(pk=tenant.workspace.pk)
    assert ws.test_mode is False and ws.spend_limit is None


def test_invalid_value_shows_the_catalogue_fix_and_changes_nothing(tenant, people):
    audited = AuditEvent.objects.count()
    response = client_for(people[("A", "owner")]).post(
        settings_url(tenant),
        form_of(tenant, rate_limit_per_second="900", allowed_countries="US, XX", name="New"),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="set-rate_limit_per_second-errors"' in page and "500" in page
    assert 'id="set-allowed_countries-errors"' in page and "XX" in page
    assert "The request is malformed." in page and "Correct the fields named" in page
    assert 'value="900"' in page  # what was typed stays in the form
    ws = Workspace.objects.get(pk=tenant.workspace.pk)
    assert ws.rate_limit_per_second == 50 and ws.name != "New"
    assert AuditEvent.objects.count() == audited


def test_default_sender_must_be_one_of_the_workspaces(tenant, other_tenant, people):
    response = client_for(people[("A", "owner")]).post(
        settings_url(tenant), form_of(tenant, default_sender=other_tenant.sender.number)
    )
    assert response.status_code == 400
    assert Workspace.objects.get(pk=tenant.workspace.pk).default_sender != (
        other_tenant.sender.number
    )


@pytest.mark.parametrize("role", ["viewer", "agent", "campaign_manager"])
def test_a_role_without_workspace_manage_is_not_shown_settings(role, tenant, people):
    """As GET/PATCH /api/v1/workspace: the page, its link and a posted change all refused."""
    member = client_for(people[("A", role)])
    assert member.get(settings_url(tenant)).status_code == 403
    response = member.post(settings_url(tenant), form_of(tenant, rate_limit_per_second="5"))
    assert response.status_code == 403
    assert Workspace.objects.get(pk=tenant.workspace.pk).rate_limit_per_second == 50
    dashboard = member.get(f"/w/{tenant.workspace.slug}/").content.decode()
    assert settings_url(tenant) not in dashboard


def test_another_workspace_is_404_and_never_shown(tenant, other_tenant, people):
    owner = client_for(people[("A", "owner")])
    assert owner.get(settings_url(other_tenant)).status_code == 404
    assert owner.post(settings_url(other_tenant), form_of(other_tenant)).status_code == 404
    assert other_tenant.workspace.name not in owner.get(settings_url(tenant)).content.decode()


def test_changing_the_slug_leads_to_the_new_address(tenant, people):
    response = client_for(people[("A", "owner")]).post(
        settings_url(tenant), form_of(tenant, slug="renamed-space")
    )
    assert response.status_code == 302 and response["Location"] == "/w/renamed-space/settings/"


@pytest.mark.django_db(transaction=True)
def test_browser_settings_saved_and_read_at_phone_width(page_as, tenant, people):
    page = page_as(people[("A", "owner")])
    page.goto(settings_url(tenant))
    assert_accessible(page)
    page.get_by_label("Rate limit per second").fill("25")
    page.get_by_label("Help text").fill("Acme alerts. Reply STOP to opt out. help@acme.test")
    page.get_by_label("Test mode").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Settings saved.").wait_for()
    ws = Workspace.objects.get(pk=tenant.workspace.pk)
    assert ws.rate_limit_per_second == 25 and ws.test_mode is True
    assert ws.help_text.startswith("Acme alerts.")
    page.get_by_label("Rate limit per second").fill("0")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("alert").inner_text().startswith("The request is malformed.")
    assert page.get_by_label("Rate limit per second").get_attribute("aria-invalid") == "true"
    assert_accessible(page)
    admin = page_as(people[("A", "admin")], width=390, height=800)
    admin.goto(settings_url(tenant))
    assert admin.evaluate("document.documentElement.scrollWidth") <= 390
    assert admin.get_by_label("Help text").input_value().startswith("Acme alerts.")
    assert_accessible(admin)


def test_time_zone_and_two_factor_come_from_the_serializer(tenant, people):
    owner = client_for(people[("A", "owner")])
    page = owner.get(settings_url(tenant)).content.decode()
    assert ">Time zone</label>" in page and ">Require two-factor</label>" in page
    assert '<option value="America/New_York">' in page
    refused = owner.post(settings_url(tenant), form_of(tenant, timezone="Mars/Olympus"))
    assert refused.status_code == 400
    assert 'id="set-timezone-errors"' in refused.content.decode()
    owner.post(settings_url(tenant), form_of(tenant, timezone="America/New_York"))
    assert Workspace.objects.get(pk=tenant.workspace.pk).timezone == "America/New_York"
    developers = owner.get(f"/w/{tenant.workspace.slug}/developers/").content.decode()
    assert " EST</td>" in developers or " EDT</td>" in developers  # times in the zone
