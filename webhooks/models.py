"""Outbound webhooks: endpoints, the event outbox, deliveries and their attempts (CONTRACT §8)."""

from django.db import models

from workspaces.ids import PrefixedIdField
from workspaces.models import ModeScopedModel, WorkspaceScopedModel


class WebhookEndpoint(ModeScopedModel):
    """A customer's URL, subscribed to some event types, in the mode of the token that made it."""

    id = PrefixedIdField("whe")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    enabled = models.BooleanField(default=True)
    # Fernet-encrypted with FIELD_ENCRYPTION_KEY; the old secret signs too for 24 h after rotation.
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    # When the endpoint last answered 2xx (its creation time until then): 5 days without one
    # while deliveries keep failing disables it.
    last_success_at = models.DateTimeField()
    # The first failure since the last success; five days of failing disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        """True when the endpoint subscribes to this event type (`*` takes everything)."""
        return event_type == "ping" or "*" in self.events or event_type in self.events


class Event(ModeScopedModel):
    """An outbox row written in the same transaction as the change it reports."""

    id = PrefixedIdField("evt")
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "test", "-created_at"], name="evt_ws_created")]


class WebhookDelivery(WorkspaceScopedModel):
    """One event on its way to one endpoint, with every attempt made."""

    PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
    id = PrefixedIdField("whd")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, default=PENDING, db_index=True)
    attempt = models.PositiveSmallIntegerField(default=0)
    # Position in the retry schedule since the delivery last (re)started; a replay resets it.
    step = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    # Set while a task for the delivery is in the broker or on a worker: the sweeper hands out
    # only due deliveries whose lease has passed, so a waiting task is not enqueued again.
    leased_until = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_unique_event")
        ]
        indexes = [models.Index(fields=["status", "next_retry_at"], name="whd_status_due")]


class DeliveryAttempt(WorkspaceScopedModel):
    """One HTTP attempt of a delivery."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["number"]
