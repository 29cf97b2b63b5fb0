"""Walk the campaign manager's and the compliance officer's paths on a running `make run`
(127.0.0.1:8000) in Debian chromium through Playwright, checking each step, and take the README's
screenshots of those pages:

    .venv/bin/python docs/screenshots/walkthrough.py

As the demo campaign manager: import docs/sample-contacts.csv (map, start, progress, report),
write a template with an emoji (UCS-2), review and launch a campaign to the tag `spring` and
follow it to completed. As the viewer: no button that changes anything, a posted Stop refused.
As the owner: a number that opts in, is messaged, replies STOP and START (a minute apart), read
at each moment on its page against the API; its evidence bundle downloaded and its sha256
checked; a suppression removed with a reason; the audit chain verified. Takes about 6 minutes.
"""

import hashlib
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import requests
from playwright.sync_api import expect, sync_playwright

BASE = "http://127.0.0.1:8000"
HERE = Path(__file__).parent
ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent
SHOTS = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE
demo = json.loads((ROOT / "var/demo.json").read_text())
slug = demo["workspace"]["slug"]
people = {p["role"]: p for p in demo["console"]}
token = demo["tokens"]["live"]
api = requests.Session()
api.headers["Authorization"] = f"Bearer {token}"
W = f"/w/{slug}"


def log(*a):
    return print(time.strftime("%H:%M:%S"), *a, flush=True)


def sign_in(ctx, role):
    page = ctx.new_page()
    page.goto("/login/")
    page.get_by_label("Email").fill(people[role]["email"])
    page.get_by_label("Password").fill(people[role]["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{W}/")
    return page


def wait_bar_full(page, name=None, timeout=300):
    bar = (
        page.get_by_role("progressbar")
        if name is None
        else page.get_by_role("progressbar", name=name)
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        now, top = (
            bar.first.get_attribute("aria-valuenow"),
            bar.first.get_attribute("aria-valuemax"),
        )
        if now and top and int(now) == int(top) and int(top) > 0:
            return int(now), int(top)
        page.wait_for_timeout(1000)
    raise AssertionError(f"progress stuck at {now}/{top}")


with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])

    def mk():
        return browser.new_context(
            base_url=BASE, viewport={"width": 1280, "height": 900}, accept_downloads=True
        )

    # ---- Campaign manager: CSV → completed campaign, without the API --------------------------
    cm = sign_in(mk(), "campaign_manager")
    cm.get_by_role("link", name="Contacts", exact=True).click()
    cm.get_by_role("link", name="Import contacts").click()
    cm.get_by_label("CSV file").set_input_files(str(ROOT / "docs/sample-contacts.csv"))
    cm.get_by_label("Consent disclosure").fill(
        "Yes, text me Spring offers from Demo. Msg & data rates may apply. Reply STOP to opt out."
    )
    cm.get_by_role("button", name="Upload").click()
    cm.get_by_role("button", name="Start import").wait_for()
    cm.screenshot(path=str(SHOTS / "import-mapping.png"), full_page=True)
    cm.get_by_role("button", name="Start import").click()
    log("import progress", wait_bar_full(cm))
    expect(cm.get_by_role("link", name="Download report")).to_be_visible(timeout=30000)
    report_text = cm.locator("main").inner_text()
    assert "not-a-number" in report_text, report_text[:2000]
    cm.screenshot(path=str(SHOTS / "import-report.png"), full_page=True)
    with cm.expect_download() as d:
        cm.get_by_role("link", name="Download report").click()
    log(
        "report downloaded:",
        d.value.suggested_filename,
        Path(d.value.path()).read_text()[:300].replace("\n", " | "),
    )

    cm.get_by_role("link", name="Templates", exact=True).click()
    cm.get_by_role("link", name="New template").click()
    cm.get_by_label("Name").fill("Spring sale")
    cm.get_by_label("Body").fill(
        "Hi {{first_name|there}} 🌷 Spring sale at {{attributes.favourite_store|our store}}: "
        "20% off today. Reply STOP to opt out"
    )
    expect(cm.get_by_text("UCS-2").first).to_be_visible(timeout=15000)
    cm.screenshot(path=str(SHOTS / "template.png"), full_page=True)
    cm.get_by_role("button", name="Save").click()
    cm.wait_for_load_state()

    cm.get_by_role("link", name="Campaigns", exact=True).click()
    cm.get_by_role("link", name="New campaign").click()
    cm.get_by_label("Name").fill("Spring sale")
    cm.get_by_label("Template").select_option(label="Spring sale")
    cm.get_by_label("Tags").fill("spring")
    cm.get_by_role("button", name="Review").click()
    expect(
        cm.get_by_role("rowheader", name="Recipients")
        .or_(cm.get_by_role("cell", name="Recipients"))
        .first
    ).to_be_visible(timeout=30000)
    review = cm.locator("main").inner_text()
    log("review:", re.sub(r"\s+", " ", review)[:900])
    cm.screenshot(path=str(SHOTS / "campaign-review.png"), full_page=True)
    cm.get_by_role("button", name="Launch").click()
    cm.wait_for_url(re.compile(r".*/campaigns/cmp_[0-9a-z]+/$"))
    campaign_url = cm.url
    log("launched", campaign_url)
    log("campaign progress", wait_bar_full(cm, timeout=600))
    expect(cm.get_by_text(re.compile("completed")).first).to_be_visible(timeout=60000)
    cm.wait_for_timeout(8000)  # the late carrier reports settle the chart
    cm.screenshot(path=str(SHOTS / "campaign.png"), full_page=True)
    log("campaign page:", re.sub(r"\s+", " ", cm.locator("main").inner_text())[:900])
    cid = campaign_url.rstrip("/").split("/")[-1]
    api_stats = api.get(f"{BASE}/api/v1/campaigns/{cid}").json()["stats"]
    log("API stats", api_stats)

    # ---- Another campaign, throttled to 1 a minute: paused, resumed, then stopped ---------------
    cm.get_by_role("link", name="Campaigns", exact=True).click()
    cm.get_by_role("link", name="New campaign").click()
    cm.get_by_label("Name").fill("Slow one")
    cm.get_by_label("Message").fill(
        "Hi {{first_name|there}}, one more spring offer. Reply STOP to opt out"
    )
    cm.get_by_label("Tags").fill("spring")
    cm.get_by_label("Throttle per minute").fill("1")
    cm.get_by_role("button", name="Review").click()
    cm.get_by_role("button", name="Launch").click()
    cm.wait_for_url(re.compile(r".*/campaigns/cmp_[0-9a-z]+/$"))
    cm.get_by_role("button", name="Pause").click()
    expect(cm.get_by_role("button", name="Resume")).to_be_visible(timeout=15000)
    log(
        "paused:",
        re.sub(
            r"\s+", " ", cm.get_by_role("progressbar").first.get_attribute("aria-valuetext") or ""
        ),
    )
    cm.get_by_role("button", name="Resume").click()
    expect(cm.get_by_role("button", name="Pause")).to_be_visible(timeout=15000)
    cm.get_by_role("button", name="Stop").click()
    stop_dialog = cm.get_by_role("dialog", name="Stop")
    log("stop asks:", re.sub(r"\s+", " ", stop_dialog.inner_text())[:200])
    stop_dialog.get_by_role("button", name="Confirm").click()
    expect(cm.get_by_text(re.compile("stopped")).first).to_be_visible(timeout=15000)
    slow = api.get(f"{BASE}/api/v1/campaigns/{cm.url.rstrip('/').split('/')[-1]}").json()
    log("stopped:", slow["status"], slow["stats"])
    assert slow["status"] == "stopped" and slow["stats"]["canceled"] > 0

    # ---- Viewer: no buttons that change anything; a posted action refused ---------------------
    viewer = sign_in(mk(), "viewer")
    for path in (
        campaign_url.replace(BASE, ""),
        f"{W}/suppressions/",
        f"{W}/contacts/",
        f"{W}/templates/",
        f"{W}/campaigns/",
    ):
        viewer.goto(path)
        for name in (
            "Pause",
            "Resume",
            "Stop",
            "Resend failed",
            "Add suppression",
            "Remove suppression",
            "New template",
            "New campaign",
            "Import contacts",
            "Launch",
        ):
            assert viewer.get_by_role("button", name=name, exact=True).count() == 0, (path, name)
            assert viewer.get_by_role("link", name=name, exact=True).count() == 0, (path, name)
    csrf = viewer.context.cookies()
    tok = next(c["value"] for c in csrf if c["name"] == "csrftoken")
    r = viewer.request.post(
        f"{BASE}{campaign_url.replace(BASE, '')}stop/",
        headers={"X-CSRFToken": tok, "Referer": BASE + "/"},
    )
    log("viewer POST stop ->", r.status)
    assert r.status == 403

    # ---- A number's four moments ------------------------------------------------------------
    owner = sign_in(mk(), "owner")
    phone, sender = "+14155550199", demo["sender"]
    moments = []

    def moment(label):
        time.sleep(61)
        moments.append((label, datetime.now().astimezone()))  # local; converted below

    r = api.post(
        f"{BASE}/api/v1/consents",
        json={"phone": phone, "method": "web_form", "disclosure": "Spring offers by text"},
    )
    assert r.status_code == 201, r.text
    consent1 = r.json()["id"]
    moment("opted in")
    r = api.post(
        f"{BASE}/api/v1/messages", json={"to": phone, "from": sender, "body": "Your order is ready"}
    )
    assert r.status_code == 202, r.text
    moment("messaged")
    r = requests.post(
        f"{BASE}/hooks/simulator/inbound",
        json={"from": phone, "to": sender, "body": "STOP"},
        timeout=30,
    )
    assert r.status_code < 300, r.text
    moment("replied STOP")
    r = requests.post(
        f"{BASE}/hooks/simulator/inbound",
        json={"from": phone, "to": sender, "body": "START"},
        timeout=30,
    )
    assert r.status_code < 300, r.text
    moment("opted in again")
    ws_zone = api.get(f"{BASE}/api/v1/workspace").json().get("timezone", "UTC")
    from zoneinfo import ZoneInfo

    for label, at in moments:
        local = at.astimezone(ZoneInfo(ws_zone)).strftime("%Y-%m-%dT%H:%M")
        owner.goto(f"{W}/numbers/{phone}/")
        owner.get_by_label("As of").fill(local)
        owner.get_by_role("button", name="Show state").click()
        region = owner.get_by_role("region", name=re.compile("^State as of"))
        text = re.sub(r"\s+", " ", region.inner_text())
        log(f"{label} @ {local}:", text[:300])
        api_state = api.get(
            f"{BASE}/api/v1/numbers/{phone}", params={"as_of": at.isoformat()}
        ).json()
        con = (api_state["marketing_consent"] or {}).get("id")
        sups = [s["id"] for s in api_state["suppressions"]]
        log("   API:", con, sups)
        if con:
            assert con in text
        for s in sups:
            assert s in text
    owner.screenshot(path=str(SHOTS / "number.png"), full_page=True)
    owner.get_by_role("button", name="Download evidence").click()
    owner.wait_for_url(re.compile(r".*/exports/.*"))
    link = owner.get_by_role("link", name="Download").first
    link.wait_for(timeout=60000)
    shown = re.findall(r"\b[0-9a-f]{64}\b", owner.locator("main").inner_text())
    with owner.expect_download() as d:
        link.click()
    body = Path(d.value.path()).read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    log(
        "evidence",
        d.value.suggested_filename,
        len(body),
        "bytes sha256",
        digest,
        "shown:",
        digest in shown,
    )
    assert digest in shown
    ids = set(re.findall(rb"(?:con|sup|msg)_[0-9a-z]+", body))
    log("ids in bundle:", sorted(i.decode() for i in ids)[:20])
    owner.screenshot(path=str(SHOTS / "exports.png"), full_page=True)

    # ---- Suppression removed with a reason; chain verified -----------------------------------
    owner.goto(f"{W}/suppressions/")
    owner.screenshot(path=str(SHOTS / "suppressions.png"), full_page=True)
    owner.get_by_role("button", name="Remove suppression").first.click()
    owner.get_by_label("Reason").fill("Customer called to opt back in (ticket 4411)")
    owner.get_by_role("button", name="Confirm").click()
    owner.wait_for_load_state()
    log("after removal:", re.sub(r"\s+", " ", owner.locator("main").inner_text())[:300])
    owner.goto(f"{W}/audit/")
    owner.get_by_role("button", name="Verify chain").click()
    expect(owner.get_by_text("Chain intact")).to_be_visible(timeout=60000)
    owner.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
    log("chain intact")
    owner.goto(f"{W}/contacts/")
    owner.screenshot(path=str(SHOTS / "contacts.png"), full_page=True)
    browser.close()
log("ALL OK")
