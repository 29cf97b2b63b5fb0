"""A contact import through a real worker: the issue's 2,000-row file with 50 bad rows."""

import pytest

from campaigns.models import Contact

from ..support.workers import celery_processes, wait_for
from .test_imports import _acceptance_file, _upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_imports_1950_contacts_and_names_the_50_bad_rows(tenant, other_tenant):
    """Uploaded through the API, read by the worker: 1,950 contacts, a report of exactly 50."""
    text, expected = _acceptance_file()
    response = _upload(tenant, text)
    assert response.status_code == 202, response.content
    url = f"/api/v1/contact-imports/{response.json()['id']}"
    client = tenant.client("viewer")
    with celery_processes("worker"):
        body = wait_for(
            lambda: (b := client.get(url).json())["status"] in ("completed", "failed") and b,
            timeout=120,
        )
    assert (body["status"], body["created"], body["updated"]) == ("completed", 1950, 0)
    assert body["errors"] == expected
    assert Contact.objects.for_workspace(tenant.workspace).count() == 1950
    assert not Contact.objects.for_workspace(other_tenant.workspace).exists()
    assert other_tenant.client().get(url).status_code == 404
