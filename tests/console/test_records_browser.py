"""Suppressions, Exports and Audit log in a real browser: an owner removes a suppression with a
reason through the Confirm dialog; creates an export, downloads it and checks its sha256 against the
page's; presses Verify chain and reads `Chain intact` (a real worker for both); axe on each page."""

import hashlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from compliance.models import Suppression
from compliance.services import suppression_create
from workspaces.audit import Actor
from workspaces.models import AuditEvent

from ..support.browser import assert_accessible
from ..support.workers import celery_processes

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+14155550171"
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def test_owner_removes_a_suppression_with_a_reason(page_as, tenant, people):
    row, _ = suppression_create(
        workspace_id=tenant.workspace.pk, phone=PHONE, source="keyword", actor=Actor.system()
    )
    page = page_as(people[("A", "owner")])
    page.goto(f"/w/{tenant.workspace.slug}/suppressions/")
    expect(page.get_by_role("link", name=PHONE)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Remove suppression").click()
    dialog = page.get_by_role("dialog", name="Remove suppression")
    dialog.get_by_label("Reason").fill("Opted in again on a signed form")
    assert_accessible(page)
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"Suppression {row.id} of {PHONE} removed.")).to_be_visible()
    expect(page.get_by_role("button", name="Remove suppression")).to_have_count(0)
    row.refresh_from_db()
    assert (row.active, row.removal_reason) == (False, "Opted in again on a signed form")
    event = AuditEvent.objects.for_workspace(tenant.workspace).get(action="suppression.removed")
    assert event.actor_label == people[("A", "owner")].email
    assert Suppression.objects.for_workspace(tenant.workspace).filter(active=True).count() == 0


def test_owner_exports_downloads_and_verifies_the_chain(page_as, tenant, people, tmp_path):
    page = page_as(people[("A", "owner")])
    with celery_processes("worker"):
        page.goto(f"/w/{tenant.workspace.slug}/exports/")
        assert_accessible(page)
        page.get_by_label("Kind").select_option("audit_events")
        page.get_by_label("Format").select_option("csv")
        page.get_by_label("From").fill("2000-01-01")
        page.get_by_label("To", exact=True).fill("2099-12-31")
        page.get_by_role("button", name="Create export").click()
        download_link = page.get_by_role("link", name="Download")
        expect(download_link).to_be_visible(timeout=60_000)  # htmx polls the row until done
        shown = page.locator("li[aria-current=true] code.sha256").inner_text()
        assert SHA256.match(shown)
        assert_accessible(page)
        with page.expect_download() as info:
            download_link.click()
        saved = tmp_path / "export.csv"
        info.value.save_as(saved)
        assert hashlib.sha256(Path(saved).read_bytes()).hexdigest() == shown

        page.goto(f"/w/{tenant.workspace.slug}/audit/")
        events = page.get_by_role("region", name="Audit events")
        expect(events.get_by_text("export.downloaded")).to_be_visible()
        page.get_by_role("button", name="Verify chain").click()
        expect(page.get_by_text("Chain intact")).to_be_visible(timeout=60_000)
        assert_accessible(page)
