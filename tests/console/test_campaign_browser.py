"""A campaign manager in a real browser with real workers: watches a launched campaign's progress
bar reach completed without reloading the page, then pauses another campaign and stops it through
the Confirm dialog, which names how many messages stop; axe on each page."""

import re

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign
from campaigns.resources import campaign_stats
from tests.support.campaign_pages import daytime_contacts, launched
from tests.support.factories import short_code_for

from ..support.browser import assert_accessible
from ..support.workers import celery_processes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.timeout(300)
def test_a_manager_watches_one_campaign_complete_then_pauses_and_stops_another(
    page_as, tenant, people
):
    fast = short_code_for(tenant.workspace, mps=20)
    daytime_contacts(tenant.workspace, 30, tags=("watch",))
    daytime_contacts(tenant.workspace, 20, tags=("hold",))
    watched = launched(tenant, name="Watched", sender=fast, audience={"tags": ["watch"]})
    # One message a minute: still running when the manager pauses it.
    held = launched(tenant, name="Held", audience={"tags": ["hold"]}, throttle_per_minute=1)
    page = page_as(people[("A", "campaign_manager")])
    page.goto(f"/w/{tenant.workspace.slug}/campaigns/")
    expect(page.get_by_role("link", name="Watched")).to_be_visible()
    expect(page.get_by_role("link", name="New campaign")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Watched").click()
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuemax", "30")
    assert_accessible(page)
    page.evaluate("window.ternNotReloaded = true")  # gone if the page were loaded again
    with celery_processes("worker-transactional", "worker-bulk", "beat"):
        expect(bar).to_have_attribute("aria-valuenow", "30", timeout=90_000)
        expect(page.locator("#campaign-status")).to_have_text("completed", timeout=10_000)
        assert page.evaluate("window.ternNotReloaded") is True
        expect(page.get_by_role("button", name="Pause")).to_have_count(0)
        assert Campaign.objects.get(pk=watched.pk).status == Campaign.COMPLETED

        page.goto(f"/w/{tenant.workspace.slug}/campaigns/{held.pk}/")
        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_role("button", name="Resume")).to_be_visible()
        expect(page.locator("#campaign-status")).to_have_text("paused")
        assert_accessible(page)
        stats = campaign_stats(Campaign.objects.get(pk=held.pk))
        stopping = stats["scheduled"] + stats["queued"]
        assert stopping > 0
        page.get_by_role("button", name="Stop").click()
        dialog = page.get_by_role("dialog", name="Stop")
        expect(dialog).to_contain_text(re.compile(rf"\b{stopping} messages? not yet sent"))
        assert_accessible(page)
        dialog.get_by_role("button", name="Confirm").click()
        expect(page.locator("#campaign-status")).to_have_text("stopped")
    stopped = Campaign.objects.get(pk=held.pk)
    assert stopped.status == Campaign.STOPPED
    assert campaign_stats(stopped)["canceled"] == stopping
