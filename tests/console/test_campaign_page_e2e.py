"""The Campaign page through real workers: a campaign reviewed and launched from its page, its
live part polled as the browser polls it, until the page says completed with every message final."""

import re

import pytest
from django.test import Client

from campaigns.models import Campaign
from tests.support.campaign_pages import daytime_contacts, draft
from tests.support.factories import short_code_for

from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def progress(part: str) -> tuple[int, int, str]:
    """(aria-valuenow, aria-valuemax, status) as the live part shows them."""
    now = int(re.search(r'aria-valuenow="(\d+)"', part).group(1))
    top = int(re.search(r'aria-valuemax="(\d+)"', part).group(1))
    status = re.search(r'id="campaign-status"[^>]*>(\w+)<', part).group(1)
    return now, top, status


@pytest.mark.timeout(300)
def test_the_page_follows_a_launched_campaign_to_completed(tenant, people):
    sender = short_code_for(tenant.workspace, mps=20)
    daytime_contacts(tenant.workspace, 40)
    campaign = draft(tenant, sender=sender)
    client = Client()
    client.force_login(people[("A", "campaign_manager")])
    page = f"/w/{tenant.workspace.slug}/campaigns/{campaign.pk}/"
    review = client.get(page + "?review=1").context["review"]
    assert review["messages"] == 40
    client.post(page + "launch/", {"reviewed": review["signature"]})
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.RUNNING
    seen = []

    def completed():
        part = client.get(page + "live/?seen=running", HTTP_X_TERN_POLL="1").content.decode()
        seen.append(progress(part))
        return seen[-1][2] == "completed" and "hx-trigger" not in part

    with celery_processes("worker-transactional", "worker-bulk", "beat"):
        wait_for(completed, timeout=120, interval=0.5)
    assert seen[-1] == (40, 40, "completed")
    assert all(top == 40 for _, top, _ in seen)
    assert [n for n, _, _ in seen] == sorted(n for n, _, _ in seen)  # never backwards
    html = client.get(page).content.decode()
    assert "Recipients 40 = skipped 0 + scheduled 0 + queued 0 + sending 0" in html
    assert "delivered 40" in html
