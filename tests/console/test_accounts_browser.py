"""Accounts in a browser: sign in, set up two-factor, sign in with a code, sign out everywhere."""

import re

import pytest

from tests.support.accounts import (
    PASSWORD,
    clean_cache,  # noqa: F401 (fixture)
    enable_two_factor,
    totp_code,
    with_password,
)
from tests.support.browser import assert_accessible

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_cache")]


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Fill and send the sign-in form."""
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_set_up_two_factor_then_sign_in_with_a_recovery_code(
    browser_context, tenant, people
):
    owner = with_password(people[("A", "owner")])
    page = browser_context().new_page()
    page.goto("/login/")
    assert_accessible(page)
    sign_in(page, owner.email)
    page.wait_for_url(f"**/w/{tenant.workspace.slug}/")

    page.goto("/account/")
    assert_accessible(page)
    page.get_by_role("link", name="Set up two-factor").click()
    page.wait_for_url("**/account/two-factor/")
    assert_accessible(page)
    secret = page.get_by_text(re.compile(r"^[A-Z2-7 ]{32,}$")).inner_text()
    assert page.get_by_role("img", name=re.compile("QR code")).is_visible()
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    codes.first.wait_for()
    assert codes.count() == 10
    recovery = codes.nth(3).inner_text().strip()
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    sign_in(page, owner.email)
    page.wait_for_url("**/login/two-factor/")
    assert_accessible(page)
    page.get_by_label("Code").fill(recovery)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"**/w/{tenant.workspace.slug}/")


def test_sign_in_with_a_fresh_totp_code(browser_context, tenant, people):
    owner = with_password(people[("A", "owner")])
    secret, _ = enable_two_factor(owner)
    page = browser_context().new_page()
    sign_in(page, owner.email)
    page.wait_for_url("**/login/two-factor/")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"**/w/{tenant.workspace.slug}/")


def test_sign_out_everywhere_ends_the_other_browser_too(browser_context, page_as, tenant, people):
    owner = with_password(people[("A", "owner")])
    elsewhere = page_as(owner)
    elsewhere.goto(f"/w/{tenant.workspace.slug}/")
    here = browser_context().new_page()
    sign_in(here, owner.email)
    here.wait_for_url(f"**/w/{tenant.workspace.slug}/")
    here.goto("/account/")
    here.get_by_role("button", name="Sign out everywhere").click()
    here.wait_for_url("**/login/")
    elsewhere.goto(f"/w/{tenant.workspace.slug}/")
    assert "/login/" in elsewhere.url


def test_password_reset_pages_are_accessible(browser_context, people):
    owner = with_password(people[("A", "owner")])
    page = browser_context().new_page()
    page.goto("/password-reset/")
    assert_accessible(page)
    page.get_by_label("Email").fill(owner.email)
    page.get_by_role("button", name="Send reset link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert_accessible(page)
