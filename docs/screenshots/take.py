"""Take the README's console screenshots from a running `make run` (Debian chromium, Playwright):

    .venv/bin/python docs/screenshots/take.py [var] [--base URL] [--only NAME ...]

Signs in as the demo owner printed into var/demo.json (before two-factor is set up), visits the
main pages of the demo workspace at 1280×800 and writes one PNG per page next to this file. The
platform is looked for at --base, else $TERN_BASE_URL, else make run's http://127.0.0.1:8000;
--only takes just the named pages (say `--only message two-factor`).

`message` sends one message from Send (the simulator delivers it) and waits, with a deadline, for
its page to show it delivered; `two-factor` opens the set-up page, whose secret is a throwaway:
nothing is activated.
"""

import argparse
import json
import os
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
DEFAULT_BASE = "http://127.0.0.1:8000"
# console.js marks each chart it has drawn
DRAWN = "[...document.querySelectorAll('canvas[data-chart]')].every(c => c.dataset.rendered)"
PAGES = {
    "dashboard": "",
    "messages": "messages/",
    "send": "messages/new/",
    "message": "messages/new/",
    "developers": "developers/",
    "members": "members/",
    "two-factor": "/account/two-factor/",
}
DELIVERED_WITHIN_SECONDS = 60


def _send(page, body: str, encoding: str) -> None:
    """Fill the Send form and wait for the live count to name the body's encoding."""
    page.get_by_label("To").fill("+14155550123")
    page.get_by_label("Message").fill(body)
    page.get_by_text(encoding).wait_for()


def _delivered(page) -> None:
    """Send the form, then reload the message's page until its timeline says delivered."""
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/messages/msg_*/")
    deadline = time.monotonic() + DELIVERED_WITHIN_SECONDS
    while not page.locator(".badge.status-delivered").count():
        if time.monotonic() > deadline:
            raise SystemExit(f"not delivered within {DELIVERED_WITHIN_SECONDS} s: {page.url}")
        page.wait_for_timeout(1000)
        page.reload()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("var", nargs="?", default="var", type=Path, help="holds demo.json")
    parser.add_argument("--base", default=os.environ.get("TERN_BASE_URL", DEFAULT_BASE))
    parser.add_argument("--only", nargs="+", choices=sorted(PAGES), default=list(PAGES))
    return parser.parse_args()


def main(var: Path, base: str, names: list[str]) -> None:
    """Sign in, then one screenshot per page."""
    demo = json.loads((var / "demo.json").read_text())
    owner = next(p for p in demo["console"] if p["role"] == "owner")
    slug = demo["workspace"]["slug"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_context(
            base_url=base, viewport={"width": 1280, "height": 800}
        ).new_page()
        page.goto("/login/")
        page.get_by_label("Email").fill(owner["email"])
        page.get_by_label("Password").fill(owner["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**/w/{slug}/")
        for name in names:
            path = PAGES[name]
            page.goto(path if path.startswith("/") else f"/w/{slug}/{path}")
            if name == "send":  # an emoji: the live count shows UCS-2
                _send(page, "Your table for 2 is ready 🍽️ Reply STOP to opt out", "UCS-2")
            if name == "message":  # plain text: the page repeats the body, and chromium here
                _send(page, "Your table for 2 is ready. Reply STOP to opt out", "GSM-7")
                _delivered(page)  # has no emoji font
            page.wait_for_function(DRAWN)
            page.screenshot(path=str(HERE / f"{name}.png"))
        browser.close()


if __name__ == "__main__":
    arguments = _arguments()
    main(arguments.var, arguments.base.rstrip("/"), arguments.only)
