"""A number's four-moment compliance story, written through the real doors (the consent API,
the send API and the simulator's inbound hook), at times of the caller's choosing: it opted in,
was messaged, replied STOP (a marketing send was then refused), and opted in again with START.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import time_machine
from django.test import Client

from compliance.models import Consent, Suppression

DISCLOSURE = "Weekly offers from Acme, 4/mo. Reply STOP to opt out."


@dataclass
class Story:
    """What the story wrote: the moments and the ids of its records."""

    phone: str
    moments: list[datetime]
    ids: dict = field(default_factory=dict)

    def after(self, step: int) -> datetime:
        """A minute after moment `step` (0 opted in, 1 messaged, 2 STOP, 3 START)."""
        return self.moments[step] + timedelta(minutes=1)


def inbound(tenant, phone: str, body: str):
    """The handset texts `body` to the tenant's sender (the simulator's inbound hook)."""
    response = Client().post(
        "/hooks/simulator/inbound",
        {"from": phone, "to": tenant.sender.number, "body": body},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response


def send(tenant, phone: str, category: str = "marketing"):
    """A send through the API as the tenant's owner."""
    return tenant.client().post(
        "/api/v1/messages",
        {"to": phone, "from": tenant.sender.number, "body": "Sale today", "category": category},
        format="json",
    )


def grant(tenant, phone: str, **extra):
    """A web-form grant through the consent API."""
    body = {"phone": phone, "method": "web_form", "disclosure": DISCLOSURE, **extra}
    response = tenant.client().post("/api/v1/consents", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def four_moments(tenant, phone: str, moments: list[datetime]) -> Story:
    """Opted in, messaged, STOP (then a refused send), START — at `moments[0..3]`."""
    story = Story(phone, moments)
    with time_machine.travel(moments[0], tick=False):
        story.ids["grant"] = grant(tenant, phone)["id"]
    with time_machine.travel(moments[1], tick=False):
        sent = send(tenant, phone)
        assert sent.status_code == 202, sent.content
        story.ids["message"] = sent.json()["id"]
    with time_machine.travel(moments[2], tick=False):
        inbound(tenant, phone, "STOP")
    with time_machine.travel(moments[2] + timedelta(seconds=30), tick=False):
        refused = send(tenant, phone)
        assert refused.json()["error"]["code"] == "workspace_suppressed", refused.content
    with time_machine.travel(moments[3], tick=False):
        inbound(tenant, phone, "START")
    records = Suppression.objects.filter(workspace=tenant.workspace, phone=phone, source="keyword")
    story.ids["suppression"] = records.get().pk
    consents = Consent.objects.filter(workspace=tenant.workspace, phone=phone, method="keyword")
    story.ids["revoke"] = consents.get(action=Consent.REVOKE).pk
    story.ids["regrant"] = consents.get(action=Consent.GRANT).pk
    return story
