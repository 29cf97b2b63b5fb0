"""Take the README's console screenshots from a running `make run` (Debian chromium, Playwright):

    .venv/bin/python docs/screenshots/take.py

Signs in as the demo owner printed into var/demo.json (before two-factor is set up), visits the
main pages of the demo workspace at 1280×800 and writes one PNG per page next to this file.
"""

import json
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
BASE = "http://127.0.0.1:8000"
# console.js marks each chart it has drawn
DRAWN = "[...document.querySelectorAll('canvas[data-chart]')].every(c => c.dataset.rendered)"
PAGES = {
    "dashboard": "",
    "messages": "messages/",
    "send": "messages/new/",
    "developers": "developers/",
    "members": "members/",
}


def main(var: Path) -> None:
    """Sign in, then one screenshot per page."""
    demo = json.loads((var / "demo.json").read_text())
    owner = next(p for p in demo["console"] if p["role"] == "owner")
    slug = demo["workspace"]["slug"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_context(
            base_url=BASE, viewport={"width": 1280, "height": 800}
        ).new_page()
        page.goto("/login/")
        page.get_by_label("Email").fill(owner["email"])
        page.get_by_label("Password").fill(owner["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**/w/{slug}/")
        for name, path in PAGES.items():
            page.goto(f"/w/{slug}/{path}")
            if name == "send":
                page.get_by_label("To").fill("+14155550123")
                page.get_by_label("Message").fill(
                    "Your table for 2 is ready 🍽️ Reply STOP to opt out"
                )
                page.get_by_text("UCS-2").wait_for()
            page.wait_for_function(DRAWN)
            page.screenshot(path=str(HERE / f"{name}.png"))
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("var"))
