"""Campaigns: the workspace's campaigns of the mode shown, newest first, with their progress read
from the kept counters (one grouped query per page, never a scan of the messages)."""

from dataclasses import dataclass

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from campaigns.models import Campaign
from messaging.stats import campaign_final_counts
from workspaces.errors import TernError

from ...access import console_page
from ..lists import cursor_page


@dataclass(frozen=True)
class CampaignRow:
    """One campaign of the list with how far along it is."""

    campaign: Campaign
    done: int
    total: int

    @property
    def percent(self) -> int:
        """Final messages ÷ messages (recipients less skipped), in whole percent."""
        return int(self.done * 100 / self.total) if self.total else 100


def messages_of(campaign: Campaign) -> int:
    """The campaign's messages: its recipients less those skipped."""
    return max(campaign.recipients - sum((campaign.skipped or {}).values()), 0)


def new_campaign_url(slug: str) -> str:
    """The New campaign page (another module's), by name once it exists, else by its path."""
    try:
        return reverse("console:campaign_new", kwargs={"slug": slug})
    except NoReverseMatch:
        return f"/w/{slug}/campaigns/new/"


def campaign_rows(campaigns: list[Campaign]) -> list[CampaignRow]:
    """The page's campaigns with their final counts, from one read of the counters."""
    final = campaign_final_counts(campaign_ids=[c.pk for c in campaigns])
    return [CampaignRow(c, final[c.pk], messages_of(c)) for c in campaigns]


@console_page("campaigns:read")
def campaign_list(request):
    """The campaigns the API's list shows a token of this mode, newest first, cursor-paged."""
    seat = request.seat
    context = {"rows": [], "next": None, "previous": None, "error": None}
    # A viewer is not shown a way to create one (CONTRACT §12: forbidden actions are not shown).
    can_create = seat.can("campaigns:write")
    context["new_url"] = new_campaign_url(seat.workspace.slug) if can_create else None
    try:
        found, context["next"], context["previous"] = cursor_page(
            request, Campaign.objects.visible_to(seat), size=25
        )
        context["rows"] = campaign_rows(found)
    except TernError as error:
        context["error"] = error
    return render(request, "console/campaigns.html", context)
