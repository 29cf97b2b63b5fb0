"""Shapes of messages, sends, batches, refusals and provider exchanges (CONTRACT §4, §13)."""

import json
from datetime import timedelta

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from workspaces import clock
from workspaces.api.openapi import DeliveryErrorShape
from workspaces.api.schema import ErrorEnvelopeSerializer

from ..models import Message, Status
from ..records import ProviderExchange, Refusal
from ..resources import (  # noqa: F401 (re-exported)
    event_resource,
    message_resource,
    provider_exchange_resource,
    refusal_resource,
)

MAX_BODY_CHARS = 5000

MAX_METADATA_BYTES = 4096

MAX_SEND_AT_DAYS = 35  # CONTRACT §4: `send_at` at most 35 days ahead


def send_at_in_range(value):
    """`send_at` no further ahead than MAX_SEND_AT_DAYS (campaigns use it too)."""
    latest = clock.now() + timedelta(days=MAX_SEND_AT_DAYS)
    if value is not None and value > latest:
        raise serializers.ValidationError(
            f"At most {MAX_SEND_AT_DAYS} days ahead: no later than {clock.isoformat(latest)}."
        )
    return value


class SendSerializer(serializers.Serializer):
    """`{"to", "from", "body", "category", "metadata", "send_at"}`."""

    to = serializers.CharField(max_length=32)
    body = serializers.CharField(max_length=MAX_BODY_CHARS, trim_whitespace=False)
    category = serializers.ChoiceField(
        choices=[Message.TRANSACTIONAL, Message.MARKETING], default=Message.TRANSACTIONAL
    )
    metadata = serializers.DictField(required=False, default=dict)
    send_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def get_fields(self):
        """`from` is a Python keyword, so it is added by name."""
        fields = super().get_fields()
        fields["from"] = serializers.CharField(
            max_length=32, required=False, allow_null=True, allow_blank=True, default=None
        )
        return fields

    def validate(self, attrs):
        """Without `from`, the workspace (in the context) must have a default sender."""
        workspace = self.context.get("workspace")
        if workspace is not None and not attrs.get("from") and not workspace.default_sender:
            raise serializers.ValidationError(
                {"from": ["This field is required (no default sender is set)."]}
            )
        return attrs

    def validate_send_at(self, value):
        """Now or the past sends at once; the future at most 35 days ahead."""
        return send_at_in_range(value)

    def validate_metadata(self, value):
        """Small JSON objects only: they travel on every webhook."""
        if len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError(f"At most {MAX_METADATA_BYTES} bytes of JSON.")
        return value


MAX_BATCH = 1000


class BatchSerializer(serializers.Serializer):
    """`{"messages": [...up to 1000...]}`; each item, even a malformed one, is judged on its own."""

    messages = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=MAX_BATCH
    )


class BatchRequestSerializer(serializers.Serializer):
    """Schema of the batch request: up to 1,000 send requests."""

    messages = SendSerializer(many=True, min_length=1, max_length=MAX_BATCH)


class TimelineEventSerializer(serializers.Serializer):
    """Schema of a timeline step."""

    event = serializers.CharField()
    at = serializers.DateTimeField()
    detail = serializers.DictField()


class MessageSerializer(serializers.Serializer):
    """Schema of the message resource; rendering goes through `message_resource`."""

    id = serializers.CharField()
    direction = serializers.ChoiceField(choices=["outbound", "inbound"])
    status = serializers.ChoiceField(choices=Status.values)
    to = serializers.CharField()
    body = serializers.CharField()
    category = serializers.ChoiceField(choices=[Message.TRANSACTIONAL, Message.MARKETING])
    segments = serializers.IntegerField()
    encoding = serializers.ChoiceField(choices=["GSM-7", "UCS-2"])
    price = serializers.DecimalField(max_digits=10, decimal_places=4)
    currency = serializers.CharField()
    test = serializers.BooleanField()
    campaign = serializers.CharField(allow_null=True)
    provider = serializers.CharField()
    provider_message_id = serializers.CharField(allow_null=True)
    error = DeliveryErrorShape(allow_null=True, help_text="Why it failed (null unless it did).")
    metadata = serializers.DictField()
    send_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    timeline = TimelineEventSerializer(many=True)

    def get_fields(self):
        """`from` is a Python keyword, so it is added by name."""
        fields = super().get_fields()
        fields["from"] = serializers.CharField()
        return fields

    def to_representation(self, instance):
        return message_resource(instance)


class BatchAcceptedSerializer(serializers.Serializer):
    """Schema of an accepted batch item."""

    message = MessageSerializer()


class BatchResultSerializer(serializers.Serializer):
    """Schema of the batch answer: one `{"message"}` or `{"error"}` per item, in order."""

    results = PolymorphicProxySerializer(
        component_name="BatchItemResult",
        serializers=[BatchAcceptedSerializer, ErrorEnvelopeSerializer],
        resource_type_field_name=None,
        many=True,
    )


class RefusalSerializer(serializers.ModelSerializer):
    """`{"id", "code", "to", "from", "token", "via", "request_id", "created_at", "count"}`.

    `count` is how many 429s a `rate_limited` row stands for (its token's minute); 1 otherwise.
    """

    to = serializers.CharField(source="to_number")
    from_ = serializers.CharField(source="from_number")
    token = serializers.CharField(source="token_id")

    class Meta:
        model = Refusal
        fields = ["id", "code", "to", "from_", "token", "via", "request_id", "created_at", "count"]
        read_only_fields = fields

    def get_fields(self):
        """`from` is a Python keyword: declared as `from_`, rendered as `from`."""
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def to_representation(self, instance):
        """Rendered by `refusal_resource` (the fields above document and parse)."""
        return refusal_resource(instance)


class ProviderExchangeSerializer(serializers.ModelSerializer):
    """`{"at", "kind", "method", "url", "status_code", "headers", "body"}`, secrets redacted."""

    kind = serializers.ChoiceField(
        choices=[ProviderExchange.REQUEST, ProviderExchange.RESPONSE, ProviderExchange.CALLBACK]
    )
    headers = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = ProviderExchange
        fields = ["at", "kind", "method", "url", "status_code", "headers", "body"]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `provider_exchange_resource` (the fields above document and parse)."""
        return provider_exchange_resource(instance)
