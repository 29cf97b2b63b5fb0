"""Shapes of contacts, templates, campaigns and contact imports (CONTRACT §7)."""

import json
from zoneinfo import available_timezones

from rest_framework import serializers

from messaging.api.serializers import send_at_in_range
from workspaces.api.references import WorkspaceIdField, WorkspaceSenderField
from workspaces.phones import to_e164

from ..imports import report, rows
from ..models import (
    ATTRIBUTE_KEY_MAX,
    ATTRIBUTES_MAX_BYTES,
    ATTRIBUTES_MAX_KEYS,
    Contact,
    ContactImport,
    Template,
)
from ..rendering import unknown_fields
from ..resources import contact_resource, template_resource

_ZONES = None
# Documented bounds of templates' free text (the schema shows them).
TEMPLATE_BODY_MAX = 1600  # as a campaign's own body


def _zones() -> set[str]:
    global _ZONES
    _ZONES = _ZONES or available_timezones()
    return _ZONES


class ContactSerializer(serializers.ModelSerializer):
    """`phone first_name last_name timezone tags attributes` (+ id and times)."""

    tags = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=100
    )
    attributes = serializers.DictField(
        required=False,
        help_text=f"At most {ATTRIBUTES_MAX_KEYS} keys of at most {ATTRIBUTE_KEY_MAX} characters,"
        f" {ATTRIBUTES_MAX_BYTES} bytes of JSON in all.",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "phone",
            "first_name",
            "last_name",
            "timezone",
            "tags",
            "attributes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_phone(self, value):
        """E.164 after the workspace's default country."""
        number = to_e164(value, self.context["workspace"].default_country)
        if not number:
            raise serializers.ValidationError("Not a valid phone number.")
        return number

    def validate_timezone(self, value):
        """An IANA time zone name, or empty."""
        if value and value not in _zones():
            raise serializers.ValidationError("Not an IANA time zone (e.g. America/Chicago).")
        return value

    def validate_tags(self, value):
        """Unique, trimmed."""
        return sorted({t.strip() for t in value if t.strip()})

    def validate_attributes(self, value):
        """Small: they are merged into messages and travel with every contact."""
        if len(value) > ATTRIBUTES_MAX_KEYS:
            raise serializers.ValidationError(f"At most {ATTRIBUTES_MAX_KEYS} attributes.")
        if any(len(key) > ATTRIBUTE_KEY_MAX for key in value):
            raise serializers.ValidationError(f"Keys are at most {ATTRIBUTE_KEY_MAX} characters.")
        if len(json.dumps(value).encode()) > ATTRIBUTES_MAX_BYTES:
            raise serializers.ValidationError(f"At most {ATTRIBUTES_MAX_BYTES} bytes of JSON.")
        return value

    def to_representation(self, instance):
        """Rendered by `contact_resource` (the fields above document and parse)."""
        return contact_resource(instance)


class TemplateSerializer(serializers.ModelSerializer):
    """`name`, `body`; unknown merge fields are refused at save."""

    body = serializers.CharField(max_length=TEMPLATE_BODY_MAX)

    class Meta:
        model = Template
        fields = ["id", "name", "body", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_body(self, value):
        """Only first_name, last_name, phone and attributes.KEY may be merged."""
        unknown = unknown_fields(value)
        if unknown:
            raise serializers.ValidationError(f"Unknown merge fields: {', '.join(unknown)}")
        return value

    def to_representation(self, instance):
        """Rendered by `template_resource` (the fields above document and parse)."""
        return template_resource(instance)


class PreviewSerializer(serializers.Serializer):
    """`{"contact": id}` or `{"phone"}`."""

    contact = serializers.CharField(required=False, max_length=40)
    phone = serializers.CharField(required=False, max_length=32)

    def validate(self, attrs):
        """Exactly one of the two."""
        if bool(attrs.get("contact")) == bool(attrs.get("phone")):
            raise serializers.ValidationError("Give either `contact` or `phone`.")
        return attrs


class PreviewResultSerializer(serializers.Serializer):
    """`{"body", "encoding", "segments", "price"}`."""

    body = serializers.CharField()
    encoding = serializers.CharField()
    segments = serializers.IntegerField()
    price = serializers.CharField()


class AudienceSerializer(serializers.Serializer):
    """`{"tags": [...]}` (contacts with any of them) or `{"all": true}`."""

    tags = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_empty=False,
        max_length=100,
    )
    all = serializers.BooleanField(required=False)

    def validate(self, attrs):
        """Exactly one of the two ways."""
        if bool(attrs.get("tags")) == bool(attrs.get("all")):
            raise serializers.ValidationError('Give either "tags": [...] or "all": true.')
        return {"tags": sorted(set(attrs["tags"]))} if attrs.get("tags") else {"all": True}


class CampaignSerializer(serializers.Serializer):
    """What a draft campaign is made of; `template` or `body`, not both."""

    name = serializers.CharField(max_length=200)
    template = WorkspaceIdField(
        "tpl", noun="template", as_object=True, required=False, allow_null=True
    )
    body = serializers.CharField(required=False, allow_blank=False, max_length=1600)
    audience = AudienceSerializer()
    # `from` is a Python keyword: the field is renamed in __init__.
    from_number = WorkspaceSenderField()
    send_at = serializers.DateTimeField(required=False, allow_null=True)
    throttle_per_minute = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=60_000
    )
    opt_out_keywords = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, max_length=20
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = self.fields.pop("from_number")

    def validate_send_at(self, value):
        """At most 35 days ahead, as for a single message (CONTRACT §4)."""
        return send_at_in_range(value)

    def validate_body(self, value):
        """Only known merge fields."""
        unknown = unknown_fields(value)
        if unknown:
            raise serializers.ValidationError(f"Unknown merge fields: {', '.join(unknown)}")
        return value

    def validate_opt_out_keywords(self, value):
        """Single words, kept upper-case and unique."""
        words = sorted({" ".join(v.split()).upper() for v in value if v.strip()})
        if any(" " in w for w in words):
            raise serializers.ValidationError("Each opt-out keyword is a single word.")
        return words

    def validate(self, attrs):
        """Template xor body (on create; a change may give either one)."""
        has_template, has_body = bool(attrs.get("template")), bool(attrs.get("body"))
        if not self.partial and has_template == has_body:
            raise serializers.ValidationError('Give either "template" or "body".')
        if "from" in attrs:
            attrs["from_number"] = attrs.pop("from")
        if has_template:
            attrs["body"] = ""
        elif has_body:
            attrs["template"] = None
        return attrs


class DryRunSerializer(serializers.Serializer):
    """`{"recipients", "messages", "skipped": {code: n}, "segments", "cost"}`."""

    recipients = serializers.IntegerField()
    messages = serializers.IntegerField()
    skipped = serializers.DictField(child=serializers.IntegerField())
    segments = serializers.IntegerField()
    cost = serializers.CharField()


STATUSES = [
    ContactImport.PENDING,
    ContactImport.RUNNING,
    ContactImport.COMPLETED,
    ContactImport.FAILED,
]


class ContactImportCreateSerializer(serializers.Serializer):
    """Multipart: `file` (CSV, UTF-8, at most 20 MiB), `tags`, `consent_disclosure`, `columns`."""

    file = serializers.FileField(
        help_text="Header row, then `phone,first_name,last_name,timezone,tags,consent"
        "[,consent_captured_at]`; `tags` `;`-separated."
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=1000),
        required=False,
        default=list,
        help_text="Added to every imported contact: repeat the field, or separate with `;` or `,`.",
    )
    consent_disclosure = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="The disclosure the contacts agreed to; needed by rows with `consent=yes`.",
    )

    columns = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        required=False,
        help_text="What each of the file's columns becomes, in the header's order (the console's "
        "mapping): `phone` (exactly once), `first_name`, `last_name`, `timezone`, `tags`, "
        "`consent`, `consent_captured_at`, `attributes.<name>` or `ignore`; repeat the field, or "
        "separate with `,`. Without it the columns are read by their names. A mapping that "
        "does not fit the header is a 400 `validation_error` whose `details.columns` says what "
        "to change.",
    )

    def validate_columns(self, value):
        """`phone,ignore` and repeated fields alike, each target trimmed."""
        return [target.strip() for item in value for target in item.split(",")]

    def validate_tags(self, value):
        """`a;b,c` and repeated fields alike; each tag at most 64 characters."""
        tags = rows.split_tags(value, separators=";,")
        too_long = [tag for tag in tags if len(tag) > rows.TAG_MAX]
        if too_long:
            raise serializers.ValidationError(f"Tags are at most {rows.TAG_MAX} characters.")
        return tags


class ImportRowErrorSerializer(serializers.Serializer):
    """One refused row: its spreadsheet row number, the refused cell and why."""

    row = serializers.IntegerField(help_text="The header is row 1, the first data row row 2.")
    value = serializers.CharField()
    code = serializers.CharField(help_text="blank_row, invalid_number, duplicate_in_file, …")


class ContactImportSerializer(serializers.Serializer):
    """The import resource, rendered by `report.contact_import_resource`."""

    id = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    file_name = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    consent_disclosure = serializers.CharField(allow_null=True)
    created = serializers.IntegerField(help_text="Contacts added.")
    updated = serializers.IntegerField(help_text="Contacts that already existed, updated.")
    errors = ImportRowErrorSerializer(many=True)
    errors_truncated = serializers.BooleanField(
        help_text=f"More than {report.MAX_ERRORS:,} rows were refused; the first are listed."
    )
    failure = serializers.CharField(allow_null=True, help_text="Why a failed import stopped.")
    rows_total = serializers.IntegerField(help_text="Records in the file after its header row.")
    rows_read = serializers.IntegerField(
        help_text="Records read so far (updated as each batch of rows commits)."
    )
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        """The resource as the service renders it."""
        return report.contact_import_resource(instance)
