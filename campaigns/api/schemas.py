"""Documentation-only serializers: the shapes of the campaign resource (CONTRACT §7).

The views render plain dicts from `campaigns.resources`; these describe them for the OpenAPI
schema and are never used to render. Fields that the resource may set to null say so.
"""

from rest_framework import serializers

from workspaces.api.openapi import example

from ..messages import COUNTED_STATUSES
from ..models import Campaign

CAMPAIGN_STATUSES = [
    Campaign.DRAFT,
    Campaign.SCHEDULED,
    Campaign.RUNNING,
    Campaign.PAUSED,
    Campaign.COMPLETED,
    Campaign.STOPPED,
]
SKIP_HELP = "Recipients not messaged, by reason code (e.g. `workspace_suppressed`)."


class AudienceShape(serializers.Serializer):
    """`{"tags": [...]}` (contacts with any of them) or `{"all": true}`: one of the two."""

    tags = serializers.ListField(child=serializers.CharField(), required=False)
    all = serializers.BooleanField(required=False)


class CampaignStatsShape(serializers.Serializer):
    """`recipients` = the sum of `skipped` and of every message status; `cost` so far."""

    recipients = serializers.IntegerField()
    skipped = serializers.DictField(child=serializers.IntegerField(), help_text=SKIP_HELP)
    cost = serializers.CharField(help_text="Decimal, 4 places, in the workspace's currency.")

    def get_fields(self):
        """One count per message status."""
        fields = super().get_fields()
        for status in COUNTED_STATUSES:
            fields[str(status)] = serializers.IntegerField(help_text=f"Messages now {status}.")
        return fields


class CampaignShape(serializers.Serializer):
    """The campaign resource."""

    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=CAMPAIGN_STATUSES)
    template = serializers.CharField(allow_null=True, help_text="The template's id, if any.")
    body = serializers.CharField(allow_null=True, help_text="null when a template is used.")
    audience = AudienceShape()
    send_at = serializers.DateTimeField(allow_null=True)
    throttle_per_minute = serializers.IntegerField(allow_null=True)
    opt_out_keywords = serializers.ListField(child=serializers.CharField())
    test = serializers.BooleanField()
    stats = CampaignStatsShape()
    launched_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_fields(self):
        """`from` is a Python keyword, so it is added by name."""
        fields = super().get_fields()
        fields["from"] = serializers.CharField()
        return fields


# Valid bodies for /api/docs/ and schemathesis's examples phase. The numbers are fictional
# (555-01xx); `+14155550100` is the sender the docs (and the schema tests) assume.
CONTACT_EXAMPLE = example(
    "A contact",
    {
        "phone": "+14155550123",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "timezone": "America/Los_Angeles",
        "tags": ["vip"],
        "attributes": {"plan": "pro"},
    },
)
TEMPLATE_EXAMPLE = example(
    "A template", {"name": "Welcome", "body": "Hi {{first_name|there}}, welcome aboard!"}
)
PREVIEW_EXAMPLE = example("For a number", {"phone": "+14155550123"})
CAMPAIGN_EXAMPLE = example(
    "A draft to every contact",
    {
        "name": "Spring sale",
        "body": "Hi {{first_name|there}}: 20% off this week.",
        "audience": {"all": True},
        "from": "+14155550100",
    },
)
