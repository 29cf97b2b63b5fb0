"""Contacts and Import in a real browser: a campaign manager uploads a CSV with bad rows, maps a
column into an attribute, starts it, watches the progress bar complete (a real worker reading),
reads the row report and downloads it; then finds a contact by tag and edits it. axe on each."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from campaigns.models import Contact

from ..support.browser import assert_accessible
from ..support.workers import celery_processes

pytestmark = pytest.mark.django_db(transaction=True)

CSV = (
    "Phone,First name,Loyalty tier,tags\n"
    "+14155550401,Ada,gold,vip\n"
    "12,Bad,silver,\n"
    "+14155550402,Grace,bronze,spring\n"
    "+14155550401,Again,gold,\n"
    '=HYPERLINK("http://x"),Evil,,\n'
)


def test_a_campaign_manager_imports_a_csv_with_bad_rows(page_as, tenant, people, tmp_path):
    page = page_as(people[("A", "campaign_manager")])
    page.goto(f"/w/{tenant.workspace.slug}/contacts/")
    expect(page.get_by_text("No contacts yet")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Import contacts").click()
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "spring.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.get_by_label("Consent disclosure").fill("Spring offers. Reply STOP to opt out.")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("button", name="Start import")).to_be_visible()
    assert_accessible(page)
    tier = page.get_by_label("Loyalty tier")
    expect(tier).to_have_value("attributes.loyalty_tier")  # guessed: an attribute
    expect(page.get_by_label("Phone", exact=True)).to_have_value("phone")
    page.get_by_label("First name").select_option("ignore")
    with celery_processes("worker"):
        page.get_by_role("button", name="Start import").click()
        progress = page.get_by_role("progressbar", name="Rows read")
        expect(progress).to_have_attribute("aria-valuemax", "5")
        expect(progress).to_have_attribute("aria-valuenow", "5", timeout=60_000)
        expect(page.get_by_text("Import completed: 2 created")).to_be_visible(timeout=60_000)
    assert_accessible(page)
    report = page.get_by_role("region", name="Row report")
    expect(report).to_contain_text("invalid_number")
    expect(report).to_contain_text("duplicate_in_file")
    expect(report).to_contain_text("merge the two rows into one")
    expect(report.get_by_role("row")).to_have_count(4)  # the header and three refused rows
    with page.expect_download() as download:
        page.get_by_role("link", name="Download report").click()
    saved = tmp_path / "report.csv"
    download.value.save_as(saved)
    lines = Path(saved).read_text().splitlines()
    assert lines[0] == "row,value,code,fix"
    assert [line.split(",")[0] for line in lines[1:]] == ["3", "5", "6"]
    assert lines[3].startswith("6,\"'=HYPERLINK")  # a formula arrives as text
    ada = Contact.objects.for_workspace(tenant.workspace).get(phone="+14155550401")
    assert (ada.first_name, ada.attributes, ada.tags) == ("", {"loyalty_tier": "gold"}, ["vip"])


def test_a_contact_found_by_tag_is_edited(page_as, tenant, people):
    from campaigns.services.contacts import contact_create

    contact_create(workspace_id=tenant.workspace.pk, phone="+14155550411", tags=["vip"])
    contact_create(workspace_id=tenant.workspace.pk, phone="+14155550412", tags=["other"])
    page = page_as(people[("A", "campaign_manager")])
    page.goto(f"/w/{tenant.workspace.slug}/contacts/")
    page.get_by_label("Tag").fill("vip")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="+14155550412")).to_have_count(0)
    page.get_by_role("link", name="+14155550411").click()
    expect(page.get_by_role("heading", name="+14155550411")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Time zone").fill("America/Chicago")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Contact saved.")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Ada")
    page.get_by_role("button", name="Delete contact").click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Contact +14155550411 deleted")).to_be_visible()
    assert not Contact.objects.filter(phone="+14155550411").exists()
