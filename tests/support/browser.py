"""Browser tests: Debian's chromium driven by Playwright, signed in as a member, checked with axe.

Never `playwright install`: the browser is the system's `chromium`, launched by its path with
`--no-sandbox` (tests run as root). Outside CI a machine without it skips browser tests with that
reason; in CI nothing may be skipped (TERN_REQUIRE_ALL_TESTS), so a missing browser fails the run.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-4.11.0.min.js").read_text()
SERIOUS = {"serious", "critical"}


def chromium_path() -> str | None:
    """The system chromium's executable, or None when it is not installed."""
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    return found if found and Path(found).exists() else None


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the session."""
    path = chromium_path()
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium); browser tests need it")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
    # itself (fixtures, assertions) are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium, live_server):
    """A fresh browser context (its own cookies) factory against the live server."""
    contexts = []

    def make(*, width: int = 1280, height: int = 900):
        context = chromium.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page_as(browser_context, live_server):
    """`page_as(user)`: a page in a new context already signed in as that person."""

    def open_as(user, **size):
        client = Client()
        client.force_login(user)
        context = browser_context(**size)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
        )
        return context.new_page()

    return open_as


def assert_accessible(page) -> None:
    """No serious or critical axe-core violation on the page as it stands."""
    # evaluate() runs through the DevTools protocol, so the page's CSP (no inline script) holds.
    page.evaluate(AXE_SOURCE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)
