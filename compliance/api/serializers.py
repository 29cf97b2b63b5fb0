"""Shapes of suppressions, consents and exports (CONTRACT §6, §13)."""

from rest_framework import serializers

from workspaces.api.references import WorkspaceIdField
from workspaces.errors import TernError
from workspaces.phones import to_e164

from ..exports.files import FORMATS, export_resource
from ..exports.kinds import bundle_kinds, export_kinds
from ..exports.services import export_create
from ..models import Consent, Suppression
from ..numbers import as_of_parse
from ..resources import consent_resource, suppression_resource

# The request's names the service spells otherwise (`from` is a Python keyword).
SERVICE_NAMES = {"from": "date_from", "to": "date_to"}


def _phone(value: str, workspace) -> str:
    number = to_e164(value, workspace.default_country)
    if not number:
        raise serializers.ValidationError("Not a valid phone number.")
    return number


class SuppressionCreateSerializer(serializers.Serializer):
    """`{"phone", "reason", "scope": "workspace" | "campaign", "campaign"}`."""

    phone = serializers.CharField(max_length=32)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    scope = serializers.ChoiceField(choices=["workspace", "campaign"], default="workspace")
    campaign = WorkspaceIdField(
        "cmp", noun="campaign", required=False, allow_blank=True, default=""
    )

    def validate_phone(self, value):
        """E.164 after the workspace's default country."""
        return _phone(value, self.context["workspace"])

    def validate(self, attrs):
        """A campaign suppression names its campaign; a workspace one does not."""
        if attrs["scope"] == "campaign" and not attrs["campaign"]:
            raise serializers.ValidationError({"campaign": ["Required for a campaign scope."]})
        if attrs["scope"] == "workspace":
            attrs["campaign"] = ""
        return attrs


class SuppressionSerializer(serializers.Serializer):
    """Schema of the suppression resource (rendered by `suppression_resource`)."""

    id = serializers.CharField()
    phone = serializers.CharField()
    scope = serializers.ChoiceField(choices=[Suppression.WORKSPACE, Suppression.CAMPAIGN])
    campaign = serializers.CharField(allow_null=True)
    source = serializers.ChoiceField(choices=Suppression.SOURCES)
    reason = serializers.CharField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    removed_at = serializers.DateTimeField(allow_null=True)
    removed_by = serializers.CharField(allow_null=True)
    removal_reason = serializers.CharField(allow_null=True)

    def to_representation(self, instance):
        return suppression_resource(instance)


class ConsentCreateSerializer(serializers.Serializer):
    """CONTRACT §6's consent record."""

    action = serializers.ChoiceField(choices=[Consent.GRANT, Consent.REVOKE], default=Consent.GRANT)
    phone = serializers.CharField(max_length=32)
    scope = WorkspaceIdField(
        "cmp",
        noun="campaign",
        literals=["workspace"],
        default="workspace",
        help_text='"workspace", or the id of a campaign of this workspace.',
    )
    category = serializers.ChoiceField(choices=["marketing"], default="marketing")
    method = serializers.ChoiceField(choices=Consent.METHODS)
    disclosure = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    captured_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ip = serializers.IPAddressField(required=False, allow_blank=True, default="")
    user_agent = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    source_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_phone(self, value):
        """E.164 after the workspace's default country."""
        return _phone(value, self.context["workspace"])

    def validate(self, attrs):
        """A grant records what the person was told."""
        if attrs["action"] == Consent.GRANT and not attrs["disclosure"]:
            raise serializers.ValidationError(
                {"disclosure": ["A grant must record the disclosure shown to the person."]}
            )
        return attrs


class ConsentSerializer(serializers.Serializer):
    """Schema of the consent resource (rendered by `consent_resource`)."""

    id = serializers.CharField()
    action = serializers.ChoiceField(choices=[Consent.GRANT, Consent.REVOKE])
    phone = serializers.CharField()
    scope = serializers.CharField(help_text='"workspace", or the id of one campaign.')
    category = serializers.ChoiceField(choices=["marketing"])
    method = serializers.ChoiceField(choices=Consent.METHODS)
    disclosure = serializers.CharField()
    captured_at = serializers.DateTimeField()
    ip = serializers.CharField()
    user_agent = serializers.CharField()
    source_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()

    def to_representation(self, instance):
        return consent_resource(instance)


class ExportCreateSerializer(serializers.Serializer):
    """`{"kind", "format": "csv" | "jsonl", "from": "2026-01-01", "to": "2026-12-31"}`, or for
    the `number` bundle `{"kind": "number", "format", "phone", "as_of"}`."""

    format = serializers.ChoiceField(choices=FORMATS, default="csv")
    to = serializers.DateField(
        required=False, help_text="Last day included (UTC); required except for `number`."
    )
    phone = serializers.CharField(
        max_length=32, required=False, help_text="`number` only (required there): the number."
    )
    as_of = serializers.CharField(
        max_length=64,
        required=False,
        help_text="`number` only: ISO 8601 time or a date (its UTC day's end); default now.",
    )

    def get_fields(self):
        """`kind` lists the kinds registered by now; `from` is a Python keyword."""
        fields = super().get_fields()
        return {
            "kind": serializers.ChoiceField(choices=export_kinds()),
            **fields,
            "from": serializers.DateField(
                required=False, help_text="First day included (UTC); required except for `number`."
            ),
        }

    def validate(self, attrs):
        """A bundle kind takes a phone (and a moment); the others a range that runs forwards."""
        if attrs["kind"] in bundle_kinds():
            return self._bundle(attrs)
        missing = {f: ["Required for this kind."] for f in ("from", "to") if f not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        if attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": ["`to` must not be before `from`."]})
        return attrs

    def _bundle(self, attrs):
        """`phone` in E.164 after the workspace's country; `as_of` a moment (default now)."""
        if not attrs.get("phone"):
            raise serializers.ValidationError({"phone": ["Required for this kind."]})
        try:
            attrs["phone"] = _phone(attrs["phone"], self.context["workspace"])
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"phone": error.detail}) from None
        try:
            attrs["as_of"] = as_of_parse(attrs.get("as_of"))
        except TernError as error:
            raise serializers.ValidationError(error.details) from None
        return attrs

    def create(self, validated_data):
        """`save(workspace_id=, actor=, ip=)`: queue the export through the service (audited),
        the API's and the console's one call; `from`/`to` are its `date_from`/`date_to`."""
        return export_create(**{SERVICE_NAMES.get(k, k): v for k, v in validated_data.items()})


class ExportSerializer(serializers.Serializer):
    """The export resource; rendered by `export_resource` with the request's origin."""

    id = serializers.CharField()
    kind = serializers.CharField()
    format = serializers.ChoiceField(choices=FORMATS)
    to = serializers.DateField()
    phone = serializers.CharField(allow_null=True, help_text="`number` exports: the number.")
    as_of = serializers.DateTimeField(allow_null=True, help_text="`number` exports: the moment.")
    status = serializers.ChoiceField(choices=["pending", "running", "completed", "failed"])
    rows = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_null=True, help_text="SHA-256 of the data file.")
    download_url = serializers.URLField(help_text="GET with an `exports:read` token.")
    manifest = serializers.DictField(
        allow_null=True, help_text="kind, filters, who, when, rows, sha256, audit chain head"
    )
    error = serializers.CharField(allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the file is removed.")

    def get_fields(self):
        """`from` is a Python keyword, so it is added by name."""
        return {**super().get_fields(), "from": serializers.DateField()}

    def to_representation(self, instance):
        """The resource, with `download_url` on the origin the request came to."""
        request = self.context.get("request")
        base_url = request.build_absolute_uri("/") if request is not None else None
        return export_resource(instance, base_url)
