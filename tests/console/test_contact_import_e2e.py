"""A console import read by a real worker: the progress bar's value climbs to its maximum."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from campaigns.models import Contact, ContactImport

from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 2_500  # three batches: the bar moves at each checkpoint
BAD_AT = {7, 1_200, 2_499}  # data rows (1-based) holding an invalid number


def contacts_csv() -> str:
    lines = ["phone,name,store"]
    for n in range(1, ROWS + 1):
        phone = "not-a-number" if n in BAD_AT else f"+1312555{n:04d}"
        lines.append(f"{phone},Person {n},store-{n % 7}")
    return "\n".join(lines) + "\n"


def bar(page: str) -> tuple[int, int]:
    """(aria-valuenow, aria-valuemax) of the progress bar on the page."""
    found = re.search(r'role="progressbar"[^>]*aria-valuemax="(\d+)" aria-valuenow="(\d+)"', page)
    assert found, page
    return int(found.group(2)), int(found.group(1))


def test_the_progress_bar_reaches_completion_as_the_worker_reads(tenant, people):
    client = Client()
    client.force_login(people[("A", "campaign_manager")])
    base = f"/w/{tenant.workspace.slug}/contacts/"
    upload = SimpleUploadedFile("big.csv", contacts_csv().encode(), content_type="text/csv")
    assert client.post(f"{base}import/", {"file": upload}).status_code == 302
    staged = ContactImport.objects.for_workspace(tenant.workspace).get()
    columns = {"column-0": "phone", "column-1": "first_name", "column-2": "attributes.store"}
    assert client.post(f"{base}imports/{staged.id}/start/", columns).status_code == 302
    progress = f"{base}imports/{staged.id}/progress/"
    assert bar(client.get(progress).content.decode()) == (0, ROWS)
    seen = []

    def finished():
        page = client.get(progress, headers={"X-Tern-Poll": "1"}).content.decode()
        seen.append(bar(page)[0])
        return "Import completed" in page and page

    with celery_processes("worker"):
        page = wait_for(finished, timeout=120, interval=0.05)
    assert bar(page) == (ROWS, ROWS)
    assert seen == sorted(seen)  # never backwards
    assert f"{ROWS - len(BAD_AT)} created, 0 updated, {len(BAD_AT)} refused" in page
    for n in BAD_AT:
        assert f"<td>{n + 1}</td><td>not-a-number</td>" in page  # the header is row 1
    staged.refresh_from_db()
    assert (staged.status, staged.rows_read, staged.rows_total) == ("completed", ROWS, ROWS)
    stored = Contact.objects.for_workspace(tenant.workspace).get(phone="+13125550008")
    assert (stored.first_name, stored.attributes) == ("Person 8", {"store": "store-1"})
