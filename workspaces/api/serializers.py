"""Shapes of tokens, the workspace, senders and audit events (CONTRACT §2, §9)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import selectors
from ..models import WORKSPACE_SETTINGS, ApiToken, AuditEvent, Sender, Workspace
from ..phones import SUPPORTED_REGIONS, country_of, to_e164
from ..resources import audit_event_resource, sender_resource, token_resource, workspace_resource
from ..scopes import ALL_SCOPES
from .openapi import ActorShape, TargetShape

# Documented bounds of the workspace's free text and lists (CONTRACT §2); the schema shows them.
HELP_TEXT_MAX = 600  # the HELP reply is one SMS: 600 characters stay within 10 segments (UCS-2)
BLOCKED_TERM_MAX, BLOCKED_TERMS_MAX = 100, 500
VERIFIED_RECIPIENTS_MAX = 1000
COUNTRIES_MAX = 250


class TokenSerializer(serializers.ModelSerializer):
    """A token as listed: never its secret."""

    created_by = serializers.CharField(source="created_by.user.email", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "scopes",
            "mode",
            "prefix",
            "created_at",
            "created_by",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `token_resource` (the fields above document and parse)."""
        return token_resource(instance)


class TokenCreatedSerializer(TokenSerializer):
    """The creation answer: the one time the secret `token` is shown."""

    token = serializers.CharField(read_only=True)

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `token_resource` (the fields above document and parse)."""
        return {**token_resource(instance), "token": instance.token}


class TokenCreateSerializer(serializers.Serializer):
    """`{"name", "scopes", "mode", "expires_at"}`."""

    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(ALL_SCOPES)), allow_empty=False, max_length=50
    )
    mode = serializers.ChoiceField(
        choices=[ApiToken.LIVE, ApiToken.TEST],
        required=False,
        help_text="Defaults to the calling token's mode; a test token creates test tokens only.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_expires_at(self, value):
        """An expiry must lie in the future."""
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("expires_at must be in the future.")
        return value


def _country_list(values: list[str]) -> list[str]:
    codes = [str(v).upper() for v in values]
    unknown = [c for c in codes if c not in SUPPORTED_REGIONS]
    if unknown:
        raise serializers.ValidationError(f"Not ISO 3166 alpha-2 codes: {', '.join(unknown)}")
    return sorted(set(codes))


class WorkspaceSerializer(serializers.ModelSerializer):
    """The workspace's settings; `id currency month_to_date_spend provider` are read-only."""

    month_to_date_spend = serializers.SerializerMethodField()
    allowed_countries = serializers.ListField(
        child=serializers.CharField(max_length=2), max_length=COUNTRIES_MAX
    )
    verified_recipients = serializers.ListField(
        child=serializers.CharField(max_length=32), max_length=VERIFIED_RECIPIENTS_MAX
    )
    blocked_terms = serializers.ListField(
        child=serializers.CharField(max_length=BLOCKED_TERM_MAX), max_length=BLOCKED_TERMS_MAX
    )
    help_text = serializers.CharField(
        max_length=HELP_TEXT_MAX,
        allow_blank=True,
        required=False,
        help_text="The reply to HELP/INFO: program name, rates, how to opt out, support contact.",
    )
    rate_limit_per_second = serializers.IntegerField(min_value=1, max_value=500)
    duplicate_window_seconds = serializers.IntegerField(min_value=0, max_value=86400)
    spend_limit = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=0, allow_null=True, required=False
    )

    class Meta:
        model = Workspace
        fields = [
            "id",
            "slug",
            "name",
            "currency",
            "test_mode",
            "spend_limit",
            "month_to_date_spend",
            *WORKSPACE_SETTINGS,
        ]
        read_only_fields = ["id", "currency", "month_to_date_spend", "provider"]

    def get_month_to_date_spend(self, workspace) -> str:
        """Reservations and settled charges of this UTC month, as a decimal string."""
        return f"{selectors.month_to_date_spend(workspace=workspace):.4f}"

    def validate_slug(self, value):
        """Slugs are unique platform-wide."""
        taken = Workspace.objects.filter(slug=value).exclude(pk=getattr(self.instance, "pk", None))
        if taken.exists():
            raise serializers.ValidationError("This slug is taken.")
        return value

    def validate_allowed_countries(self, value):
        """ISO 3166 alpha-2 codes."""
        return _country_list(value)

    def validate_default_country(self, value):
        """An ISO 3166 alpha-2 code libphonenumber knows."""
        return _country_list([value])[0]

    def validate_verified_recipients(self, value):
        """Valid numbers, stored in E.164."""
        numbers, bad = [], []
        for raw in value:
            number = to_e164(raw, self.instance.default_country if self.instance else "US")
            (numbers if number else bad).append(number or raw)
        if bad:
            raise serializers.ValidationError(f"Not valid phone numbers: {', '.join(bad)}")
        return sorted(set(numbers))

    def validate_blocked_terms(self, value):
        """Terms are matched case-insensitively, so keep them lower-case and unique."""
        return sorted({t.strip().lower() for t in value if t.strip()})

    def validate_default_sender(self, value):
        """Empty, or one of this workspace's active senders."""
        if value and not selectors.sender_get_active(workspace=self.instance, number=value):
            raise serializers.ValidationError("Not an active sender of this workspace.")
        return value

    def to_representation(self, instance):
        """Rendered by `workspace_resource` (the fields above document and parse)."""
        return workspace_resource(instance)


class SenderSerializer(serializers.ModelSerializer):
    """A sending number; `mps` defaults to its kind's rate and may only lower it."""

    mps = serializers.IntegerField(min_value=1, required=False)
    country = serializers.CharField(max_length=2, required=False)

    class Meta:
        model = Sender
        fields = [
            "id",
            "number",
            "kind",
            "country",
            "sms_capable",
            "toll_free_verified",
            "mps",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate_number(self, value):
        """A valid number, stored in E.164 (short codes: 3–8 digits)."""
        if value.isdigit() and 3 <= len(value) <= 8:
            return value
        number = to_e164(value, self.context["workspace"].default_country)
        if not number:
            raise serializers.ValidationError("Not a valid phone number or short code.")
        return number

    def validate(self, attrs):
        """Country from the number when not given; short codes must name theirs."""
        if not attrs.get("country"):
            country = country_of(attrs["number"]) if attrs["number"].startswith("+") else None
            attrs["country"] = country or self.context["workspace"].default_country
        attrs["country"] = _country_list([attrs["country"]])[0]
        return attrs

    def to_representation(self, instance):
        """Rendered by `sender_resource` (the fields above document and parse)."""
        return sender_resource(instance)


class AuditEventSerializer(serializers.ModelSerializer):
    """An audit event with its place in the chain."""

    actor = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "action",
            "actor",
            "target",
            "reason",
            "before",
            "after",
            "ip",
            "created_at",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields

    @extend_schema_field(ActorShape)
    def get_actor(self, event) -> dict:
        """Who: `{"type": user|token|staff|system, "id", "label"}`."""
        return {"type": event.actor_type, "id": event.actor_id, "label": event.actor_label}

    @extend_schema_field(TargetShape)
    def get_target(self, event) -> dict:
        """What it was done to: `{"type", "id"}`."""
        return {"type": event.target_type, "id": event.target_id}

    def to_representation(self, instance):
        """Rendered by `audit_event_resource` (the fields above document and parse)."""
        return audit_event_resource(instance)
