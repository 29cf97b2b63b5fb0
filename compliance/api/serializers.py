"""Shapes of exports (CONTRACT §9): the create request and the export resource."""

from rest_framework import serializers

from ..exports import FORMATS, export_kinds, export_resource


class ExportCreateSerializer(serializers.Serializer):
    """`{"kind", "format": "csv" | "jsonl", "from": "2026-01-01", "to": "2026-12-31"}`."""

    format = serializers.ChoiceField(choices=FORMATS, default="csv")
    to = serializers.DateField(help_text="Last day included (UTC).")

    def get_fields(self):
        """`kind` lists the kinds registered by now; `from` is a Python keyword."""
        fields = super().get_fields()
        return {
            "kind": serializers.ChoiceField(choices=export_kinds()),
            **fields,
            "from": serializers.DateField(help_text="First day included (UTC)."),
        }

    def validate(self, attrs):
        """The range must not run backwards."""
        if attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": ["`to` must not be before `from`."]})
        return attrs


class ExportSerializer(serializers.Serializer):
    """The export resource; rendered by `export_resource` with the request's origin."""

    id = serializers.CharField()
    kind = serializers.CharField()
    format = serializers.ChoiceField(choices=FORMATS)
    to = serializers.DateField()
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
