"""Compliance API views (CONTRACT §6, §9): parse, call a service, render."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action

from workspaces.api.base import ListRetrieveViewSet, client_ip, created
from workspaces.api.filtering import StrictFilterSet, choice_filter
from workspaces.permissions import require_manager_role

from .. import exports
from ..models import Export
from .serializers import ExportCreateSerializer, ExportSerializer

EXPORTS_CREATE, EXPORTS_READ = "exports:create", "exports:read"
FILE_DESCRIPTION = "The data file (CSV with a header row, or JSON Lines), as an attachment."


class ExportFilter(StrictFilterSet):
    """`?kind=` and `?status=`."""

    kind = choice_filter(exports.export_kinds)
    status = choice_filter([Export.PENDING, Export.RUNNING, Export.COMPLETED, Export.FAILED])

    class Meta:
        model = Export
        fields = ["kind", "status"]


class ExportViewSet(ListRetrieveViewSet):
    """`/api/v1/exports`: create (owner/admin), list, read, download the file."""

    model = Export
    serializer_class = ExportSerializer
    filterset_class = ExportFilter
    required_scopes = {
        "list": EXPORTS_READ,
        "retrieve": EXPORTS_READ,
        "create": EXPORTS_CREATE,
        "download": EXPORTS_READ,
    }
    error_codes = {"download": ("invalid_state",)}

    def get_queryset(self):
        """The workspace's exports (exports are not split by mode)."""
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, without a token
            return Export.objects.none()
        return super().get_queryset()

    def perform_content_negotiation(self, request, force=False):
        """A download answers in its file's type whatever `Accept` says; its errors in JSON."""
        return super().perform_content_negotiation(
            request, force=force or self.action == "download"
        )

    @extend_schema(request=ExportCreateSerializer, responses={202: ExportSerializer})
    def create(self, request):
        """Queue an export for the worker: 202 with it, `pending`; audited as export.created."""
        require_manager_role(request, "create exports")
        form = ExportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        export = exports.export_create(
            workspace_id=request.workspace.pk,
            kind=data["kind"],
            format=data["format"],
            date_from=data["from"],
            date_to=data["to"],
            actor=self.actor,
            ip=client_ip(request),
        )
        return created(ExportSerializer, export, status=202, context={"request": request})

    @extend_schema(
        responses={
            (200, media): OpenApiResponse(OpenApiTypes.BINARY, description=FILE_DESCRIPTION)
            for media in ("text/csv", "application/x-ndjson")
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """Stream the file from disk (409 until completed, 404 once expired); audited."""
        handle, name, content_type = exports.export_open(
            export=self.get_object(), actor=self.actor, ip=client_ip(request)
        )
        return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
