"""Compliance over the other paths: a STOP through Twilio's inbound hook, the webhook events
suppressions and spend alerts emit."""

from decimal import Decimal

import pytest

from compliance.models import Suppression
from compliance.services import suppression_create, suppression_remove
from messaging.models import Message
from webhooks.models import Event
from workspaces.audit import Actor
from workspaces.models import Workspace

from ..support.factories import message_for
from ..support.twilio_hooks import signed_post

pytestmark = pytest.mark.django_db

HANDSET = "+14155550166"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    """The token and origin the signatures of support/twilio_hooks.py are made with."""
    from ..support.twilio_hooks import BASE, TOKEN

    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = TOKEN, BASE


def test_stop_through_twilio_suppresses_and_replies_once(client, tenant):
    """The Twilio inbound path reaches the same keyword handling; a repost changes nothing."""
    form = {
        "MessageSid": "SM" + "a" * 32,
        "From": HANDSET,
        "To": tenant.sender.number,
        "Body": " Stop ",
        "AccountSid": "AC" + "0" * 32,
    }
    assert signed_post(client, "/hooks/twilio/inbound", form).status_code == 200
    assert signed_post(client, "/hooks/twilio/inbound", form).status_code == 200
    assert Suppression.objects.for_workspace(tenant.workspace).get(phone=HANDSET).active
    assert Message.objects.for_workspace(tenant.workspace).filter(system_reply=True).count() == 1


def test_suppressions_emit_created_and_removed_events(tenant, other_tenant):
    """suppression.created / suppression.removed carry the suppression resource."""
    suppression, _ = suppression_create(
        workspace_id=tenant.workspace.pk, phone=HANDSET, source="api", actor=Actor.system()
    )
    suppression_remove(suppression=suppression, actor=Actor.system(), reason="asked again")
    events = Event.objects.for_workspace(tenant.workspace).filter(type__startswith="suppression.")
    assert sorted(events.values_list("type", flat=True)) == [
        "suppression.created",
        "suppression.removed",
    ]
    assert {e.data["id"] for e in events} == {suppression.id}
    assert (
        not Event.objects.for_workspace(other_tenant.workspace)
        .filter(type__startswith="suppression.")
        .exists()
    )


def test_spend_alerts_fire_once_at_80_and_100_percent(tenant):
    """Ten messages against a ten-message limit: one alert at the 8th, one at the 10th."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(spend_limit=Decimal("0.0790"))
    tenant.workspace.refresh_from_db()
    for i in range(10):
        message_for(tenant.workspace, tenant.sender, to=f"+1415555{3000 + i}")
        alerts = Event.objects.for_workspace(tenant.workspace).filter(
            type="spend.threshold_reached"
        )
        expected = [p for p in (80, 100) if (i + 1) * 10 >= p]
        assert sorted(a.data["threshold_percent"] for a in alerts) == expected
    assert alerts.get(data__threshold_percent=100).data["month_to_date_spend"] == "0.0790"
