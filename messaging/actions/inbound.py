"""Inbound: store a handset's message, act on a keyword and queue Tern's one reply to it."""

import logging

from django.db import transaction

from compliance.keywords import keyword_apply, keyword_of
from workspaces import clock
from workspaces.models import Sender, Workspace
from workspaces.phones import country_of
from workspaces.selectors import month_start

from .. import pricing
from ..encoding import encode_body
from ..hooks import INBOUND_HANDLERS
from ..lifecycle import REQUEUE_AFTER, announce, enqueue_on_commit
from ..models import Message, Status
from ..providers.base import InboundSMS
from ..providers.registry import provider_name_for
from ..timeline import event_add

logger = logging.getLogger("tern.messaging")


def inbound_receive(*, sms: InboundSMS) -> Message | None:
    """Store a handset's message in the workspace owning the sender it was sent to."""
    sender = Sender.objects.filter(number=sms.to, removed_at=None).first()
    if sender is None:
        logger.info("inbound to unknown number %s ignored", sms.to)
        return None
    existing = Message.objects.filter(
        provider=sms.provider, provider_message_id=sms.provider_message_id
    ).first()
    if existing is not None:  # providers re-post an inbound whose first answer failed or was slow
        return existing
    with transaction.atomic():
        message = _inbound_create(sms, sender)
        event_add(message, "received", {"provider": sms.provider})
        announce(message, "received")
        _act_on(message, sms, sender.workspace)
    return message


def _inbound_create(sms: InboundSMS, sender: Sender) -> Message:
    """The inbound row: received, free, settled at once."""
    now = clock.now()
    return Message.objects.create(
        workspace_id=sender.workspace_id,
        test=False,
        direction=Message.INBOUND,
        status=Status.RECEIVED,
        to_number=sms.to,
        from_number=sms.from_,
        body=sms.body,
        provider=sms.provider,
        provider_message_id=sms.provider_message_id or None,
        segments=0,
        price=0,
        reserved=0,
        settled_at=now,
        created_at=now,
    )


def _act_on(message: Message, sms: InboundSMS, workspace: Workspace) -> None:
    """A keyword (STOP/START/HELP) is applied and answered; else the apps above may act on it."""
    kind = keyword_of(sms.body)
    if not kind:
        for handler in INBOUND_HANDLERS:  # e.g. a campaign's own opt-out words
            if handler(message, workspace):
                event_add(message, "handled", {"by": handler.__name__})
                break
        return
    reply = keyword_apply(workspace=workspace, phone=sms.from_, kind=kind, inbound_id=message.id)
    event_add(message, "keyword", {"keyword": kind})
    keyword_reply_send(inbound=message, workspace=workspace, body=reply, kind=kind)


def keyword_reply_send(*, inbound: Message, workspace: Workspace, body: str, kind: str) -> Message:
    """Tern's one reply to a keyword: queued at once, outside suppressions, quiet hours and the
    spend limit (its price is still charged)."""
    now = clock.now()
    encoded = encode_body(body)
    country = country_of(inbound.from_number) or workspace.default_country
    price = pricing.price_for(
        workspace=workspace, country=country, segments=encoded.segments, test=False
    )
    reply = Message.objects.create(
        workspace=workspace,
        test=False,
        direction=Message.OUTBOUND,
        status=Status.QUEUED,
        to_number=inbound.from_number,
        from_number=inbound.to_number,
        body=body,
        segments=encoded.segments,
        encoding=encoded.encoding,
        price=price,
        reserved=price,
        provider=provider_name_for(workspace, test=False),
        system_reply=True,
        metadata={"reply_to": inbound.id, "keyword": kind},
        due_at=now + REQUEUE_AFTER,
        created_at=now,
    )
    pricing.spend_adjust(workspace_id=workspace.pk, month=month_start(now), delta=price)
    event_add(reply, "queued", {"reply_to": inbound.id, "keyword": kind})
    event_add(inbound, "keyword_reply_queued", {"reply": reply.id})
    announce(reply, "queued")
    enqueue_on_commit(reply)
    return reply
