"""Shapes of webhook endpoints, deliveries and events (CONTRACT §8)."""

from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..events import EVENT_TYPES
from ..models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint
from ..resources import (
    delivery_attempt_resource,
    delivery_resource,
    endpoint_mode,
    endpoint_resource,
    webhook_event_resource,
)

# `ping` is sent by POST …/test alone: nobody subscribes to it.
SUBSCRIBABLE = tuple(t for t in EVENT_TYPES if t != "ping")
ALL_EVENTS = "*"
MODES = ("live", "test")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as listed and read: never its secret."""

    mode = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "mode",
            "created_at",
            "disabled_at",
            "disabled_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=MODES))
    def get_mode(self, endpoint) -> str:
        """`test` or `live`: the mode of the token that created it."""
        return endpoint_mode(endpoint)

    def to_representation(self, instance):
        """Rendered by `endpoint_resource` (the fields above document and parse)."""
        return endpoint_resource(instance)


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """The endpoint with its signing secret: shown on creation and rotation only."""

    secret = serializers.CharField(read_only=True, help_text="`whsec_…`; shown this once.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointWriteSerializer(serializers.Serializer):
    """`{"url", "events", "description", "enabled"}` (PATCH: any of them)."""

    url = serializers.CharField(
        max_length=2000,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="http or https; private, loopback and link-local targets are refused.",
    )
    events = serializers.ListField(
        child=serializers.CharField(max_length=40),
        max_length=50,
        help_text=f'Event types ({", ".join(SUBSCRIBABLE)}), or ["*"] for all of them.',
    )
    description = serializers.CharField(
        max_length=500, allow_blank=True, required=False, default=""
    )
    enabled = serializers.BooleanField(required=False, default=True)

    def validate_events(self, value: list[str]) -> list[str]:
        """A non-empty list of known event types, or `["*"]` alone."""
        if not value:
            raise serializers.ValidationError('Name at least one event type, or ["*"].')
        if ALL_EVENTS in value:
            if set(value) != {ALL_EVENTS}:
                raise serializers.ValidationError('"*" takes every event type: send it alone.')
            return [ALL_EVENTS]
        unknown = sorted({v for v in value if v not in SUBSCRIBABLE})
        if unknown:
            raise serializers.ValidationError(
                f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(SUBSCRIBABLE)}."
            )
        return sorted(set(value))


class ReplayRangeSerializer(serializers.Serializer):
    """`{"since", "until"}`: replay the endpoint's failed deliveries created in [since, until)."""

    since = serializers.DateTimeField()
    until = serializers.DateTimeField()

    def validate(self, attrs):
        """The range must not be empty."""
        if attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["until must be later than since."]})
        return attrs


class ReplayedSerializer(serializers.Serializer):
    """How many deliveries were queued again."""

    replayed = serializers.IntegerField()


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    """One HTTP attempt of a delivery."""

    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "response_code", "latency_ms", "response_body", "error"]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `delivery_attempt_resource` (the fields above document and parse)."""
        return delivery_attempt_resource(instance)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event on its way to one endpoint, with every attempt made."""

    endpoint = serializers.CharField(source="endpoint_id", read_only=True)
    event_id = serializers.CharField(read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    status = serializers.ChoiceField(
        choices=[WebhookDelivery.PENDING, WebhookDelivery.SUCCEEDED, WebhookDelivery.FAILED],
        read_only=True,
    )
    # CONTRACT §8 names the field `next_retry`; `next_retry_at` says the same, as other times do.
    next_retry = serializers.DateTimeField(source="next_retry_at", read_only=True, allow_null=True)
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "status",
            "attempt",
            "response_code",
            "latency_ms",
            "response_body",
            "next_retry",
            "next_retry_at",
            "created_at",
            "attempts",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `delivery_resource` (the fields above document and parse)."""
        return delivery_resource(instance)


class EventSerializer(serializers.ModelSerializer):
    """An event as webhooks carry it: `{"id", "type", "created_at", "test", "data"}`."""

    data = serializers.DictField(read_only=True)

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "test", "data"]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `webhook_event_resource` (the fields above document and parse)."""
        return webhook_event_resource(instance)
