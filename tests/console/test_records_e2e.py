"""Exports and Verify chain through the console with a real Celery worker: the export completes
and its download hashes to the sha256 the page shows; the chain check's verdict reaches the page."""

import hashlib
import re

import pytest
from django.test import Client

from compliance.models import Export
from workspaces.models import AuditChainCheck

from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_export_completes_on_the_worker_and_the_chain_verifies(tenant, people):
    client = client_for(people[("A", "owner")])
    base = f"/w/{tenant.workspace.slug}"
    with celery_processes("worker"):
        form = {"kind": "audit_events", "format": "csv", "from": "2000-01-01", "to": "2099-12-31"}
        assert client.post(f"{base}/exports/", form).status_code == 302
        export = Export.objects.for_workspace(tenant.workspace).get()
        wait_for(lambda: Export.objects.get(pk=export.pk).status == "completed", timeout=60)
        assert client.post(f"{base}/audit/verify/").status_code == 302
        check = AuditChainCheck.objects.for_workspace(tenant.workspace).get()
        wait_for(lambda: AuditChainCheck.objects.get(pk=check.pk).status == "done", timeout=60)
    row = client.get(f"{base}/exports/{export.id}/", HTTP_HX_REQUEST="true").content.decode()
    shown = re.search(r'<code class="sha256">([0-9a-f]{64})</code>', row).group(1)
    response = client.get(f"{base}/exports/{export.id}/download/")
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == shown
    audit_page = client.get(f"{base}/audit/").content.decode()
    assert "Chain intact" in audit_page
