"""How a campaign looks from outside: the API resource and the `campaign.completed` payload."""

from workspaces.clock import isoformat

from .messages import COUNTED_STATUSES, campaign_counts
from .models import Campaign, Contact, Template


def campaign_stats(campaign: Campaign) -> dict:
    """`recipients` = the sum of `skipped` and of every message status; plus `cost`.

    Read from counters kept in the same transactions as the messages' changes, never by
    scanning the messages, so the sum holds at every read.
    """
    if campaign.status == Campaign.DRAFT:
        counts, cost = dict.fromkeys(COUNTED_STATUSES, 0), "0.0000"
    else:
        found = campaign_counts(campaign_id=campaign.pk)
        counts, cost = found["counts"], f"{found['cost']:.4f}"
    return {
        "recipients": campaign.recipients,
        "skipped": dict(campaign.skipped or {}),
        **{str(status): n for status, n in counts.items()},
        "cost": cost,
    }


def campaign_resource(campaign: Campaign) -> dict:
    """The campaign as CONTRACT §7 shows it."""
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "template": campaign.template_id,
        "body": campaign.body if not campaign.template_id else None,
        "audience": campaign.audience,
        "from": campaign.from_number,
        "send_at": isoformat(campaign.send_at),
        "throttle_per_minute": campaign.throttle_per_minute,
        "opt_out_keywords": campaign.opt_out_keywords,
        "test": campaign.test,
        "stats": campaign_stats(campaign),
        "launched_at": isoformat(campaign.launched_at),
        "completed_at": isoformat(campaign.completed_at),
        "stopped_at": isoformat(campaign.stopped_at),
        "created_at": isoformat(campaign.created_at),
        "updated_at": isoformat(campaign.updated_at),
    }


def contact_resource(contact: Contact) -> dict:
    """A contact as CONTRACT §7 shows it."""
    return {
        "id": contact.id,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "timezone": contact.timezone,
        "tags": contact.tags,
        "attributes": contact.attributes,
        "created_at": isoformat(contact.created_at),
        "updated_at": isoformat(contact.updated_at),
    }


def template_preview_resource(preview) -> dict:
    """A template preview: `{"body", "encoding", "segments", "price"}`."""
    return {
        "body": preview.body,
        "encoding": preview.encoding,
        "segments": preview.segments,
        "price": f"{preview.price:.4f}",
    }


def template_resource(template: Template) -> dict:
    """A message template."""
    return {
        "id": template.id,
        "name": template.name,
        "body": template.body,
        "created_at": isoformat(template.created_at),
        "updated_at": isoformat(template.updated_at),
    }
