"""The console's shell in a real browser: layout, navigation by role, CSP, phone width, axe."""

import pytest

from tests.support.browser import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_sees_dashboard_with_navigation_and_no_other_workspace(
    page_as, tenant, other_tenant, people
):
    page = page_as(people[("A", "owner")])
    page.goto("/w/")
    assert page.url.endswith(f"/w/{tenant.workspace.slug}/")
    page.get_by_role("heading", name="Dashboard").wait_for()
    nav = page.get_by_role("navigation", name="Workspace")
    assert nav.get_by_role("link", name="Dashboard").get_attribute("aria-current") == "page"
    assert other_tenant.workspace.name not in page.content()
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert_accessible(page)


def test_pages_carry_a_csp_without_inline_script_and_server_timing(page_as, tenant, people):
    page = page_as(people[("A", "viewer")])
    response = page.goto(f"/w/{tenant.workspace.slug}/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["server-timing"].startswith("app;dur=")
    assert page.locator("script:not([src])").count() == 0


def test_phone_width_keeps_navigation_reachable(page_as, tenant, people):
    page = page_as(people[("A", "viewer")], width=390, height=800)
    page.goto(f"/w/{tenant.workspace.slug}/")
    link = page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Dashboard")
    assert link.is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    assert_accessible(page)


def test_test_data_switch_changes_the_mode_shown(page_as, tenant, people):
    page = page_as(people[("A", "owner")])
    page.goto(f"/w/{tenant.workspace.slug}/")
    page.get_by_role("button", name="View test data").click()
    page.get_by_role("button", name="View live data").wait_for()
    assert "test data" in page.get_by_role("banner").inner_text()


def test_unknown_page_is_the_sites_404_not_an_api_envelope(page_as, tenant, people):
    page = page_as(people[("A", "viewer")])
    response = page.goto("/w/no-such-workspace/")
    assert response.status == 404
    page.get_by_role("heading", name="Not found").wait_for()
    assert_accessible(page)
