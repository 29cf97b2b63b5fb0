"""A running campaign books only a short window of its sender, so the sender's API sends still go
first (CONTRACT §7): booking a long code's 200 messages, or a throttle's minutes between slots,
ahead at once moved the sender's mark past all of them, and an API send waited behind it."""

import time

import pytest

from campaigns.services import pump as pump_service
from messaging import pacing
from messaging.models import Message
from tests.support.campaign_pages import daytime_contacts, launched

pytestmark = pytest.mark.django_db(transaction=True)

# The API send's slot comes within the pump's window (and the booking's lead) of now.
AT_MOST = pump_service.PUMP_WINDOW_SECONDS + 2


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """The pump's next turn is run by the test, not by a worker."""
    monkeypatch.setattr(pump_service, "_pump_enqueue", lambda *args, **kwargs: None)


def first_turn(campaign) -> None:
    """What launch starts on commit: the pump chain's first turn."""
    pump_service.pump_start(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    pump_service.campaign_pump(campaign_id=campaign.pk, token=campaign.pump_token)


def api_send_wait(sender: str) -> float:
    """Seconds until an API send from the sender may go, booked as the dispatcher books it."""
    return pacing.book(sender=sender, count=1, transactional=True).start - time.time()


@pytest.mark.parametrize(
    ("recipients", "throttle"),
    [(60, None), (5, 1)],
    ids=["long-code-broadcast", "throttled-to-1-a-minute"],
)
def test_an_api_send_waits_at_most_the_pump_window_behind_its_senders_campaign(
    tenant, recipients, throttle
):
    daytime_contacts(tenant.workspace, recipients)
    campaign = launched(tenant, throttle_per_minute=throttle)
    first_turn(campaign)
    booked = Message.objects.filter(campaign_id=campaign.pk).exclude(due_at=None).count()
    assert booked >= 1  # the campaign holds slots on the sender now
    assert api_send_wait(tenant.sender.number) <= AT_MOST
