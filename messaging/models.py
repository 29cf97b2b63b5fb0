"""Messages (outbound and inbound), their timelines, idempotency keys and duplicate guards."""

from decimal import Decimal

from django.db import models
from django.db.models.fields.json import KT

from workspaces.ids import PrefixedIdField
from workspaces.models import ModeScopedModel, WorkspaceScopedModel


class Status(models.TextChoices):
    """A message's life: scheduled → queued → sending → sent → delivered | undelivered | failed."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"
    RECEIVED = "received"


# How far along each status is; a report may only move a message forward (CONTRACT §4).
STATUS_RANK = {
    Status.SCHEDULED: 0,
    Status.QUEUED: 1,
    Status.SENDING: 2,
    Status.SENT: 3,
    Status.DELIVERED: 4,
    Status.UNDELIVERED: 4,
    Status.FAILED: 4,
    Status.CANCELED: 4,
    Status.RECEIVED: 4,
}
FINAL_STATUSES = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED, Status.RECEIVED}
)


class Message(ModeScopedModel):
    """One SMS, one row; everything that happens to it is a MessageEvent."""

    OUTBOUND, INBOUND = "outbound", "inbound"
    TRANSACTIONAL, MARKETING = "transactional", "marketing"
    REVIEW_NONE, REVIEW_PENDING, REVIEW_DONE = "", "pending", "reviewed"

    id = PrefixedIdField("msg")
    direction = models.CharField(max_length=8, default=OUTBOUND)
    status = models.CharField(max_length=12, choices=Status.choices, db_index=True)
    to_number = models.CharField(max_length=20)
    from_number = models.CharField(max_length=20)
    body = models.TextField()
    category = models.CharField(max_length=13, default=TRANSACTIONAL)
    segments = models.PositiveSmallIntegerField(default=1)
    encoding = models.CharField(max_length=5, default="GSM-7")
    price = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    # What the spend counter holds for this message; settlement moves it to the final charge.
    reserved = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    settled_at = models.DateTimeField(null=True, blank=True)
    campaign_id = models.CharField(max_length=40, blank=True, default="")
    provider = models.CharField(max_length=32, blank=True, default="")
    provider_message_id = models.CharField(max_length=64, null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper should next act on it: a scheduled send, a retry, a lost task.
    due_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    review = models.CharField(max_length=8, blank=True, default=REVIEW_NONE)
    # Tern's own answer to a keyword (STOP/START/HELP): goes out despite suppressions, quiet
    # hours and the spend limit, as carriers require.
    system_reply = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "test", "-created_at"], name="msg_ws_created"),
            models.Index(fields=["status", "due_at"], name="msg_status_due"),
            models.Index(fields=["review"], name="msg_review", condition=~models.Q(review="")),
            # A campaign's messages by status (pump, pause, stop); other messages stay out of it.
            models.Index(
                fields=["campaign_id", "status", "id"],
                name="msg_campaign_status",
                condition=~models.Q(campaign_id=""),
            ),
            # A reply's campaign: the newest campaign message to the number (opt-out words).
            models.Index(
                fields=["workspace", "to_number", "-created_at"],
                name="msg_campaign_recipient",
                condition=~models.Q(campaign_id=""),
            ),
            # The console's search by number (messaging/search.py); the body's trigram index is
            # PostgreSQL's own, made in migration 0008.
            models.Index(fields=["workspace", "to_number", "-created_at"], name="msg_ws_to"),
            models.Index(fields=["workspace", "from_number", "-created_at"], name="msg_ws_from"),
            models.Index(
                models.F("workspace_id"),
                KT("error__code"),
                models.F("created_at").desc(),
                name="msg_ws_error",
                condition=models.Q(error__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                name="msg_provider_id_unique",
                condition=models.Q(provider_message_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.direction} {self.status}"


class MessageEvent(WorkspaceScopedModel):
    """One step of a message's timeline."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=40)
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)
    # Set for provider reports: the same (provider id, status) twice writes one event only.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "dedupe_key"],
                name="msg_event_dedupe",
                condition=models.Q(dedupe_key__isnull=False),
            ),
        ]


class IdempotencyKey(ModeScopedModel):
    """A client's Idempotency-Key: claimed while in flight, then the stored response."""

    key = models.CharField(max_length=255)
    path = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    locked_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test", "path", "key"], name="idempotency_unique_key"
            ),
        ]


class DuplicateGuard(ModeScopedModel):
    """A (mode, to, body) fingerprint held for the duplicate window: one row, decided by its key."""

    fingerprint = models.CharField(max_length=64)
    message_id = models.CharField(max_length=40)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test", "fingerprint"], name="duplicate_guard_unique"
            ),
        ]


class CampaignCounter(WorkspaceScopedModel):
    """How many of a campaign's messages are in one status (or `cost`, in 1/10,000 USD).

    Kept by database triggers on every status and reservation change of a campaign message, in
    the changing transaction, so the counts always add up; spread over a few shards so that
    concurrent workers rarely wait on the same row.
    """

    COST = "cost"
    SHARDS = 8

    campaign_id = models.CharField(max_length=40)
    status = models.CharField(max_length=12)
    shard = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign_id", "status", "shard"], name="campaign_counter_unique"
            ),
        ]


class CampaignOutcomeHour(WorkspaceScopedModel):
    """How many of a campaign's messages reached one outcome (`delivered`, `undelivered`,
    `failed`) in one UTC hour, with one error code (`""` when delivered): the Campaign page's
    delivery over time and failures by code, read without touching the messages.

    Kept by database triggers (migration 0011) on every status change of a campaign message, in
    the changing transaction, sharded as CampaignCounter is so that workers rarely share a row.
    The hour is the message's `updated_at` as the change set it: when it reached the outcome.
    """

    OUTCOMES = ("delivered", "undelivered", "failed")

    campaign_id = models.CharField(max_length=40)
    hour = models.DateTimeField()
    status = models.CharField(max_length=12)
    code = models.CharField(max_length=64, blank=True, default="")
    shard = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign_id", "hour", "status", "code", "shard"],
                name="campaign_outcome_hour_unique",
            ),
        ]


class PendingReport(models.Model):
    """A provider's status report that came before Tern stored the provider's message id.

    `provider.send()` returns before the id is committed, so a fast report can arrive first: it
    waits here and is applied right after the id is stored, or dropped after
    PENDING_REPORT_TTL_SECONDS when no message ever takes that id.
    """

    provider = models.CharField(max_length=32)
    provider_message_id = models.CharField(max_length=64)
    status = models.CharField(max_length=12)
    error_code = models.CharField(max_length=16, blank=True, default="")
    raw = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id", "status"], name="pending_report_unique"
            ),
        ]


# Refused sends and provider exchanges (CONTRACT §13) live in their own module.
from .records import ProviderExchange, Refusal  # noqa: E402, F401

# The dashboard's hourly summaries, kept by database triggers (messaging/summaries.py).
from .summaries import DialPrefix, MessageHourStat, MessageStatDelta  # noqa: E402, F401
