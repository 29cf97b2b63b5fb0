"""Templates and New campaign in a real browser (issue 14): a template with an emoji shows UCS-2
and names the emoji as one types; a campaign's review matches the API's dry run; its launch
lands on the Campaign page's address. axe on each page."""

import re

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign, Template

from ..support.browser import assert_accessible
from ..support.campaign_audience import BODY, MIXED_SKIPS, mixed_audience

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_template_with_an_emoji_is_ucs2_and_the_emoji_named(page_as, tenant, people):
    page = page_as(people[("A", "campaign_manager")])
    page.goto(f"/w/{tenant.workspace.slug}/templates/")
    assert_accessible(page)
    asked = []  # the live preview's requests: polls, so they never refresh the session
    page.on(
        "request",
        lambda r: asked.append(r.headers.get("x-tern-poll")) if "/preview/" in r.url else None,
    )
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name", exact=True).fill("Party")
    preview = page.get_by_role("region", name="Live preview")
    body = page.get_by_label("Body", exact=True)
    body.press_sequentially("Hi {{first_name|there}}")
    expect(preview).to_contain_text("GSM-7")
    expect(preview).to_contain_text("Hi Alex")
    body.press_sequentially(" 🎉")
    expect(preview).to_contain_text("UCS-2")
    expect(preview).to_contain_text("🎉 (U+1F389 PARTY POPPER)")
    expect(preview).to_contain_text(re.compile(r"(^|\D)1 segments"))
    body.press_sequentially(" {{nick}}")
    expect(preview).to_contain_text("Unknown merge fields: nick")
    assert_accessible(page)
    assert asked and set(asked) == {"1"}
    body.fill("Hi {{first_name|there}} 🎉")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/templates/tpl_[0-9a-z]+/$"))
    template = Template.objects.get(workspace=tenant.workspace, name="Party")
    assert template.body == "Hi {{first_name|there}} 🎉"
    expect(page.get_by_role("heading", name="Template Party")).to_be_visible()
    assert_accessible(page)


def test_a_campaign_reviewed_as_the_api_dry_runs_it_then_launched(
    page_as, tenant, people, monkeypatch
):
    pumped = []
    monkeypatch.setattr("campaigns.services.launch.pump_start", lambda **kw: pumped.append(kw))
    mixed_audience(tenant.workspace)
    page = page_as(people[("A", "campaign_manager")])
    page.goto(f"/w/{tenant.workspace.slug}/campaigns/new/")
    assert_accessible(page)
    expect(page.get_by_label("From", exact=True)).to_have_value(tenant.sender.number)
    page.get_by_label("Name", exact=True).fill("Spring sale")
    page.get_by_label("Message", exact=True).fill(BODY)
    page.get_by_label("Tags", exact=True).fill("vip")
    page.get_by_role("button", name="Review").click()
    review = page.get_by_role("region", name="Review")
    expect(review).to_be_visible()
    campaign = Campaign.objects.get(workspace=tenant.workspace, name="Spring sale")
    api = tenant.client().post(f"/api/v1/campaigns/{campaign.pk}/dry-run").json()
    assert api["skipped"] == MIXED_SKIPS

    def row(name: str):
        return review.get_by_role("row", name=re.compile(rf"^{name}\b"))

    expect(row("Recipients")).to_contain_text(str(api["recipients"]))
    for code, count in api["skipped"].items():
        expect(row(code)).to_have_text(re.compile(rf"{code}\s*{count}$"))
    expect(row("Segments")).to_contain_text(str(api["segments"]))
    expect(row("Cost")).to_contain_text(f"{api['cost']} USD")
    expect(row("Held by quiet hours")).to_contain_text("0")
    assert_accessible(page)
    page.get_by_role("button", name="Launch").click()
    page.wait_for_url(re.compile(rf"/w/{tenant.workspace.slug}/campaigns/{campaign.pk}/$"))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.RUNNING and campaign.recipients == api["recipients"]
    assert pumped == [{"campaign_id": campaign.pk}]
