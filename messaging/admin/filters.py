"""The message list's filters: error code, campaign, review state."""

from django.contrib import admin

from workspaces.errors import CATALOGUE

from ..models import Message

# Codes a message's `error` can carry: the delivery failures, and a suppression found at claim.
MESSAGE_ERROR_CODES = [
    code
    for code, entry in CATALOGUE.items()
    if entry.http_status is None or entry.delivery_class or code == "workspace_suppressed"
]


class ErrorCodeFilter(admin.SimpleListFilter):
    """The catalogue codes a message can fail with, plus any/none."""

    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request, model_admin):
        return [("_any", "any error"), ("_none", "no error")] + [
            (code, code) for code in MESSAGE_ERROR_CODES
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "_any":
            return queryset.filter(error__isnull=False)
        if value == "_none":
            return queryset.filter(error__isnull=True)
        if value:
            return queryset.filter(error__code=value)
        return queryset


class CampaignFilter(admin.SimpleListFilter):
    """In a campaign or not, or one campaign (any id works in the URL: ?campaign=cmp_…)."""

    title = "campaign"
    parameter_name = "campaign"
    RECENT = 20

    def lookups(self, request, model_admin):
        recent = (
            Message.objects.exclude(campaign_id="")
            .order_by("-campaign_id")
            .values_list("campaign_id", flat=True)
            .distinct()[: self.RECENT]
        )
        return [("_any", "in a campaign"), ("_none", "not in a campaign")] + [
            (cid, cid) for cid in recent
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "_any":
            return queryset.exclude(campaign_id="")
        if value == "_none":
            return queryset.filter(campaign_id="")
        if value:
            return queryset.filter(campaign_id=value)
        return queryset


class ReviewFilter(admin.SimpleListFilter):
    """The review queue: messages waiting for staff (`?review=pending`)."""

    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            (Message.REVIEW_PENDING, "In review"),
            (Message.REVIEW_DONE, "Reviewed"),
            ("never", "Never in review"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "never":
            return queryset.filter(review=Message.REVIEW_NONE)
        if value in (Message.REVIEW_PENDING, Message.REVIEW_DONE):
            return queryset.filter(review=value)
        return queryset
