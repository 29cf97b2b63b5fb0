"""`/api/v1/contact-imports` (CONTRACT §7): upload a CSV of contacts, follow its report."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser

from workspaces.api.base import ListRetrieveViewSet, client_ip, created
from workspaces.api.filtering import StrictFilterSet

from .. import imports
from ..models import ContactImport

STATUSES = [ContactImport.PENDING, ContactImport.RUNNING, ContactImport.COMPLETED,
            ContactImport.FAILED]  # fmt: skip


class ContactImportCreateSerializer(serializers.Serializer):
    """Multipart: `file` (CSV, UTF-8, at most 20 MiB), `tags`, `consent_disclosure`."""

    file = serializers.FileField(
        help_text="Header row, then `phone,first_name,last_name,timezone,tags,consent"
        "[,consent_captured_at]`; `tags` `;`-separated."
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=1000), required=False, default=list,
        help_text="Added to every imported contact: repeat the field, or separate with `;` or `,`.",
    )  # fmt: skip
    consent_disclosure = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000,
        help_text="The disclosure the contacts agreed to; needed by rows with `consent=yes`.",
    )  # fmt: skip

    def validate_tags(self, value):
        """`a;b,c` and repeated fields alike; each tag at most 64 characters."""
        tags = imports.split_tags(value, separators=";,")
        too_long = [tag for tag in tags if len(tag) > imports.TAG_MAX]
        if too_long:
            raise serializers.ValidationError(f"Tags are at most {imports.TAG_MAX} characters.")
        return tags


class ImportRowErrorSerializer(serializers.Serializer):
    """One refused row: its spreadsheet row number, the refused cell and why."""

    row = serializers.IntegerField(help_text="The header is row 1, the first data row row 2.")
    value = serializers.CharField()
    code = serializers.CharField(help_text="blank_row, invalid_number, duplicate_in_file, …")


class ContactImportSerializer(serializers.Serializer):
    """The import resource, rendered by `imports.contact_import_resource`."""

    id = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    file_name = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    consent_disclosure = serializers.CharField(allow_null=True)
    created = serializers.IntegerField(help_text="Contacts added.")
    updated = serializers.IntegerField(help_text="Contacts that already existed, updated.")
    errors = ImportRowErrorSerializer(many=True)
    errors_truncated = serializers.BooleanField(
        help_text=f"More than {imports.MAX_ERRORS:,} rows were refused; the first are listed."
    )
    failure = serializers.CharField(allow_null=True, help_text="Why a failed import stopped.")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        """The resource as the service renders it."""
        return imports.contact_import_resource(instance)


class ContactImportFilter(StrictFilterSet):
    """`?status=`."""

    status = django_filters.ChoiceFilter(choices=[(s, s) for s in STATUSES])

    class Meta:
        model = ContactImport
        fields = ["status"]


class ContactImportViewSet(ListRetrieveViewSet):
    """CSV imports of contacts, read on the worker; each keeps a report of the rows it refused."""

    model = ContactImport
    serializer_class = ContactImportSerializer
    filterset_class = ContactImportFilter
    parser_classes = [MultiPartParser]
    http_method_names = ["get", "post", "head", "options"]
    required_scopes = {"list": "contacts:read", "retrieve": "contacts:read",
                       "create": "contacts:write"}  # fmt: skip

    def get_queryset(self):
        """The workspace's imports (imports are not split by mode)."""
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, without a token
            return ContactImport.objects.none()
        return super().get_queryset()

    @extend_schema(request=ContactImportCreateSerializer, responses={202: ContactImportSerializer})
    def create(self, request):
        """Upload a CSV: 202 with the import, `pending`; 400 when it has no `phone` column."""
        form = ContactImportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        contact_import = imports.contact_import_create(
            workspace_id=request.workspace.pk,
            upload=data["file"],
            tags=data["tags"],
            consent_disclosure=data["consent_disclosure"].strip(),
            actor=self.actor,
            ip=client_ip(request),
        )
        return created(ContactImportSerializer, contact_import, status=202)
