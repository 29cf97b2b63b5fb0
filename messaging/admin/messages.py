"""Staff admin for messages: read-only pages with the timeline, and the review queue (§10)."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.urls import reverse

from workspaces.admin_mixins import ReadOnlyAdminMixin

from ..models import Message
from .filters import CampaignFilter, ErrorCodeFilter, ReviewFilter
from .provider_log import provider_log_rows
from .review import ReviewAdminMixin
from .timeline import PROVIDER_EVENTS, error_block, timeline_rows
from .webhooks import WebhookReplayAdminMixin


@admin.register(Message)
class MessageAdmin(ReviewAdminMixin, WebhookReplayAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only message pages (POST answers 403); the review queue is `?review=pending`."""

    list_display = [
        "id",
        "workspace",
        "direction",
        "status",
        "to_number",
        "from_number",
        "error_code",
        "price",
        "test",
        "created_at",
        "review",
    ]
    list_filter = [
        "workspace",
        "status",
        ErrorCodeFilter,
        CampaignFilter,
        "test",
        "direction",
        ReviewFilter,
    ]
    search_fields = ["=id", "to_number", "=provider_message_id"]
    list_select_related = ["workspace"]
    ordering = ["-created_at"]
    show_full_result_count = False
    actions = ["mark_reviewed", "suppress_number", "resend"]
    change_list_template = "admin/messaging/message/change_list.html"
    change_form_template = "admin/messaging/message/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "workspace",
                    "direction",
                    "status",
                    "review",
                    "test",
                    "to_number",
                    "from_number",
                    "body",
                    "category",
                ]
            },
        ),
        (
            "Delivery and spend",
            {
                "fields": [
                    "provider",
                    "provider_message_id",
                    "segments",
                    "encoding",
                    "price",
                    "currency",
                    "reserved",
                    "settled_at",
                    "attempts",
                    "claimed_at",
                    "due_at",
                    "send_at",
                    "campaign_id",
                ]
            },
        ),
        ("Metadata", {"fields": ["metadata", "created_at", "updated_at"]}),
    ]

    @admin.display(description="error code")
    def error_code(self, obj):
        return (obj.error or {}).get("code", "")

    def get_urls(self):
        return [*self.review_urls(), *self.replay_urls(), *super().get_urls()]

    # --- pages ----------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        context = {
            "review_count": Message.objects.filter(review=Message.REVIEW_PENDING).count(),
            "review_url": f"{changelist}?review={Message.REVIEW_PENDING}",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        message = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if message is not None:
            context.update(self.detail_context(request, message))
        return super().change_view(request, object_id, form_url, context)

    def detail_context(self, request, message: Message) -> dict:
        """The timeline, error, provider payloads and review links of one message."""
        rows = timeline_rows(message.events.order_by("at", "id"))
        return {
            "timeline": rows,
            "error_block": error_block(message.error),
            "provider_events": [row for row in rows if row.event in PROVIDER_EVENTS],
            "in_review": message.review == Message.REVIEW_PENDING,
            "review_links": self.review_links(request, message),
            "webhook_deliveries": self.webhook_deliveries(request, message),
            "provider_log": provider_log_rows(message),
        }
