"""CampaignOutcomeHour, kept by triggers: after any mix of single and bulk status changes (and a
correction out of an outcome) it agrees with a count of the campaign's messages themselves."""

from collections import Counter

import pytest
from django.db.models import Sum

from messaging.models import CampaignOutcomeHour, Message, Status
from tests.support.campaign_pages import daytime_contacts, launched, set_outcome

pytestmark = pytest.mark.django_db


def summary(campaign_id: str) -> Counter:
    rows = CampaignOutcomeHour.objects.filter(campaign_id=campaign_id).values("status", "code")
    found = rows.annotate(t=Sum("n")).values_list("status", "code", "t")
    return Counter({(s, c): t for s, c, t in found if t})


def counted(campaign_id: str) -> Counter:
    found = Counter()
    for m in Message.objects.filter(
        campaign_id=campaign_id, status__in=CampaignOutcomeHour.OUTCOMES
    ):
        found[(m.status, "" if m.status == "delivered" else m.error["code"])] += 1
    return found


def test_the_summary_follows_every_status_change(tenant):
    daytime_contacts(tenant.workspace, 8)
    campaign = launched(tenant)
    ids = list(Message.objects.filter(campaign_id=campaign.pk).values_list("id", flat=True))
    set_outcome(ids[:3], Status.DELIVERED)  # one statement, three rows
    set_outcome([ids[3]], Status.FAILED, "unknown_number")
    set_outcome([ids[4]], Status.UNDELIVERED, "carrier_filtered")
    set_outcome([ids[5]], Status.SENT)  # not an outcome: not counted
    assert (
        summary(campaign.pk)
        == counted(campaign.pk)
        == Counter(
            {
                ("delivered", ""): 3,
                ("failed", "unknown_number"): 1,
                ("undelivered", "carrier_filtered"): 1,
            }
        )
    )
    set_outcome([ids[3]], Status.DELIVERED)  # a correction: out of failed, into delivered
    assert summary(campaign.pk) == counted(campaign.pk)
    assert summary(campaign.pk)[("failed", "unknown_number")] == 0
    hours = CampaignOutcomeHour.objects.filter(campaign_id=campaign.pk)
    assert set(hours.values_list("workspace_id", flat=True)) == {tenant.workspace.pk}
