"""The records CONTRACT §13 keeps beside messages: refused sends and provider exchanges.

Imported by `models.py`, so Django registers both with the messaging app.
"""

from django.db import models

from workspaces.ids import PrefixedIdField
from workspaces.models import ModeScopedModel, WorkspaceScopedModel

# Refusals whose code is a compliance gate are evidence (CONTRACT §13): never purged.
EVIDENCE_CODES = ("workspace_suppressed", "campaign_suppressed", "consent_required")


class Refusal(ModeScopedModel):
    """A send Tern refused (an integrator's error log); a 429 row counts one token's minute."""

    API, CONSOLE = "api", "console"

    id = PrefixedIdField("ref")
    code = models.CharField(max_length=40)
    to_number = models.CharField(max_length=64, blank=True, default="")
    from_number = models.CharField(max_length=64, blank=True, default="")
    token_id = models.CharField(max_length=40, blank=True, default="")
    via = models.CharField(max_length=16, default=API)
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField()
    # Set on 429 rows only: the minute they count, unique per token.
    minute = models.DateTimeField(null=True, blank=True)
    count = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "test", "-created_at"], name="refusal_list"),
            models.Index(fields=["created_at"], name="refusal_created"),
            # The Number page and evidence bundle: the sends refused for one number.
            models.Index(fields=["workspace", "to_number", "-created_at"], name="refusal_ws_to"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["token_id", "minute"],
                name="refusal_rate_limited_minute",
                condition=models.Q(minute__isnull=False),
            ),
        ]


class ProviderExchange(WorkspaceScopedModel):
    """One HTTP exchange with a provider about a message: our request, its answer, a callback."""

    REQUEST, RESPONSE, CALLBACK = "request", "response", "callback"

    message_id = models.CharField(max_length=40)
    provider = models.CharField(max_length=32, blank=True, default="")
    at = models.DateTimeField()
    kind = models.CharField(max_length=8)
    method = models.CharField(max_length=10, blank=True, default="")
    url = models.TextField(blank=True, default="")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["message_id", "at"], name="provider_exchange_message"),
            models.Index(fields=["at"], name="provider_exchange_at"),
        ]
