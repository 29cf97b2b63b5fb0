"""A campaign manager keeps a launched campaign's page open while real workers send it: delivery
over time (the chart's data and its table) and failures by code follow on the live part's poll,
without reloading the page and with the same chart on the same canvas, until it is final."""

import pytest
from playwright.sync_api import expect

from bench.zones import midday_zone
from tests.support.campaign_pages import daytime_contacts, launched
from tests.support.factories import contacts_for, short_code_for

from ..support.browser import assert_accessible
from ..support.workers import celery_processes

pytestmark = pytest.mark.django_db(transaction=True)

# The chart's totals per outcome as Chart.js holds them (null while no chart is drawn).
CHART_TOTALS = """() => {
  const canvas = document.querySelector("canvas[data-chart='campaign-over-time']");
  const chart = canvas && window.Chart.getChart(canvas);
  return chart ? chart.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)) : null;
}"""
# The same totals read from the accessible table under the chart.
TABLE_TOTALS = """() => {
  const rows = [...document.querySelectorAll("#campaign-over-time tbody tr")];
  return [0, 1, 2].map(i => rows.reduce((a, r) => a + Number(r.cells[i + 1].textContent), 0));
}"""


@pytest.mark.timeout(300)
def test_the_chart_and_its_tables_follow_a_running_campaign_without_reload(page_as, tenant, people):
    fast = short_code_for(tenant.workspace, mps=20)
    daytime_contacts(tenant.workspace, 12, tags=("chart",))
    # The simulator fails a number ending 0003 (its scripted outcome).
    contacts_for(tenant.workspace, ["+16463000003"], tags=("chart",), timezone=midday_zone())
    campaign = launched(tenant, name="Charted", sender=fast, audience={"tags": ["chart"]})
    page = page_as(people[("A", "campaign_manager")])
    page.goto(f"/w/{tenant.workspace.slug}/campaigns/{campaign.pk}/")
    expect(page.locator("#campaign-over-time")).to_contain_text(
        "No message has reached its outcome"
    )
    expect(page.locator("#failures-by-code")).to_contain_text("No message of this campaign failed")
    expect(page.locator(".chart")).to_be_hidden()
    page.evaluate(
        "window.ternNotReloaded = true;"  # gone if the page were loaded again
        "document.querySelector(\"canvas[data-chart='campaign-over-time']\").ternMark = 'first'"
    )
    with celery_processes("worker-transactional", "worker-bulk", "beat"):
        # Polls with a deadline: the chart's own data reach every outcome.
        page.wait_for_function(
            f"() => JSON.stringify(({CHART_TOTALS})()) === '[12,0,1]'", timeout=120_000
        )
        expect(page.locator("#campaign-status")).to_have_text("completed", timeout=30_000)
    assert page.evaluate(TABLE_TOTALS) == [12, 0, 1]
    expect(page.locator("#failures-by-code tbody tr")).to_have_count(1)
    expect(page.locator("#failures-by-code tbody td.num")).to_have_text("1")
    expect(page.locator(".chart")).to_be_visible()
    canvas = "document.querySelector(\"canvas[data-chart='campaign-over-time']\")"
    assert page.evaluate(f"{canvas}.ternMark") == "first"  # updated in place, not drawn anew
    assert page.evaluate("window.ternNotReloaded") is True
    expect(page.locator("#campaign-live[hx-trigger]")).to_have_count(0)  # final: polling stopped
    assert_accessible(page)
