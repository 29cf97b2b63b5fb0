"""Campaigns for the console's campaign page tests: contacts where it is daytime now (quiet hours
never hold them), drafts and launches through the real services, and message outcomes set as a
provider's reports would leave them (the counters and summaries follow through their triggers)."""

import itertools

from bench.zones import midday_zone
from campaigns.models import Campaign
from campaigns.services.launch import campaign_create, campaign_launch
from compliance.services import suppression_create
from messaging.models import Message
from workspaces.audit import Actor
from workspaces.errors import delivery_error

from .factories import contacts_for

_phones = itertools.count()


def fresh_phone() -> str:
    """A New York number whose last four digits (1000–8999) script no simulator failure."""
    n = next(_phones)
    return f"+1646{300 + n // 8000:03d}{1000 + n % 8000:04d}"


def daytime_contacts(workspace, count: int, *, tags=("all",), consent: bool = True) -> list:
    """`count` contacts with marketing consent (unless told otherwise), where it is midday."""
    phones = [fresh_phone() for _ in range(count)]
    return contacts_for(workspace, phones, tags=tags, consent=consent, timezone=midday_zone())


def draft(tenant, *, sender=None, name: str = "Spring sale", test: bool = False, **fields):
    """A draft campaign of the tenant to everyone tagged `all` (or `audience`)."""
    return campaign_create(
        workspace_id=tenant.workspace.pk,
        test=test,
        actor=Actor.system(),
        name=name,
        body=fields.pop("body", "Hi {{first_name}}, spring sale today. Reply STOP to opt out."),
        audience=fields.pop("audience", {"tags": ["all"]}),
        from_number=(sender or tenant.sender).number,
        **fields,
    )


def launched(tenant, **fields) -> Campaign:
    """A campaign launched through the launch service (messages queued, cost reserved)."""
    return campaign_launch(campaign=draft(tenant, **fields), actor=Actor.system())


def suppress(workspace, phone: str) -> None:
    """A workspace suppression of the number, as the API adds one."""
    suppression_create(workspace_id=workspace.pk, phone=phone, source="api", actor=Actor.system())


def set_outcome(message_ids, status: str, code: str | None = None) -> None:
    """Messages moved to a final status (with the catalogue's error for `code`), in one UPDATE."""
    error = delivery_error(code) if code else None
    Message.objects.filter(pk__in=list(message_ids)).update(status=status, error=error)
