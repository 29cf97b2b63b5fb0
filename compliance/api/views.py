"""`/api/v1/suppressions`, `/consents` and `/exports`: parse, call a service, render."""

import django_filters
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from workspaces.api.base import ListRetrieveViewSet, client_ip, created
from workspaces.api.filtering import StrictFilterSet, choice_filter
from workspaces.api.openapi import example
from workspaces.errors import TernError
from workspaces.permissions import require_manager_role
from workspaces.phones import to_e164

from .. import services
from ..exports.kinds import export_kinds
from ..exports.services import export_open
from ..models import Consent, Export, Suppression
from ..resources import consent_resource, suppression_resource
from .serializers import (
    ConsentCreateSerializer,
    ConsentSerializer,
    ExportCreateSerializer,
    ExportSerializer,
    SuppressionCreateSerializer,
    SuppressionSerializer,
)


class PhoneFilterSet(StrictFilterSet):
    """`?phone=` in any format the workspace's default country reads."""

    phone = django_filters.CharFilter(method="filter_phone")

    def filter_phone(self, queryset, name, value):
        """Match the number in E.164 whatever format it was given in."""
        number = to_e164(value, self.request.workspace.default_country) or value
        return queryset.filter(phone=number)


class SuppressionFilter(PhoneFilterSet):
    """`?phone=&active=&scope=&source=`."""

    campaign = django_filters.CharFilter(field_name="campaign_id")
    scope = choice_filter([Suppression.WORKSPACE, Suppression.CAMPAIGN])
    source = choice_filter(Suppression.SOURCES)

    class Meta:
        model = Suppression
        fields = ["phone", "active", "scope", "source", "campaign"]


# Valid bodies for /api/docs/ and schema-driven tests (fictional 555-01xx numbers).
SUPPRESSION_EXAMPLE = example(
    "A number that asked to stop",
    {"phone": "+14155550126", "reason": "Asked by phone not to be texted."},
)


CONSENT_EXAMPLE = example(
    "A web form opt-in",
    {
        "phone": "+14155550127",
        "method": "web_form",
        "disclosure": "I agree to receive marketing texts from Acme. Reply STOP to opt out.",
    },
)

REASON = OpenApiParameter("reason", str, description="why it is removed (or in the JSON body)")

MAX_REASON = 2000


def _body_reason(request):
    try:
        data = request.data
    except Exception:  # a DELETE without a body, or one that is not JSON
        return None
    return data.get("reason") if hasattr(data, "get") else None


def _removal_reason(request) -> str:
    """`?reason=` or the JSON body's `reason`: a non-blank string (400 otherwise).

    Only a real string counts: null, false, 0, [] or {} are not a reason, and must not be
    recorded as the words "None" or "False".
    """
    for value in (request.query_params.get("reason"), _body_reason(request)):
        if isinstance(value, str) and value.strip():
            if len(value.strip()) > MAX_REASON:
                raise TernError(
                    "validation_error",
                    details={
                        "reason": [f"Ensure this field has no more than {MAX_REASON} characters."]
                    },
                )
            return value.strip()
    raise TernError(
        "validation_error",
        "A suppression is removed only for a recorded reason.",
        details={"reason": ["A non-blank string is required, in the JSON body or as ?reason=."]},
    )


class SuppressionViewSet(ListRetrieveViewSet, mixins.DestroyModelMixin):
    """Suppressions: list, add (an active duplicate answers 200 with it), remove with a reason."""

    model = Suppression
    serializer_class = SuppressionSerializer
    filterset_class = SuppressionFilter
    required_scopes = {
        "list": "suppressions:read",
        "retrieve": "suppressions:read",
        "create": "suppressions:write",
        "destroy": "suppressions:write",
    }
    error_codes = {"destroy": ("invalid_state", "validation_error")}

    @extend_schema(
        request=SuppressionCreateSerializer,
        responses={201: SuppressionSerializer, 200: SuppressionSerializer},
        examples=[SUPPRESSION_EXAMPLE],
    )
    def create(self, request):
        """Suppress a number for the workspace or one campaign; audited."""
        form = SuppressionCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        suppression, created = services.suppression_create(
            workspace_id=request.workspace.pk,
            phone=data["phone"],
            source="api",
            actor=self.actor,
            reason=data["reason"],
            scope=data["scope"],
            campaign_id=data["campaign"],
            ip=client_ip(request),
        )
        return Response(suppression_resource(suppression), status=201 if created else 200)

    @extend_schema(parameters=[REASON], responses={200: SuppressionSerializer})
    def destroy(self, request, pk=None):
        """Lift a suppression: owner/admin only, with a reason; soft and audited."""
        require_manager_role(request, "remove suppressions")
        suppression = self.get_object()
        reason = _removal_reason(request)
        removed = services.suppression_remove(
            suppression=suppression, actor=self.actor, reason=reason, ip=client_ip(request)
        )
        return Response(suppression_resource(removed))


class ConsentFilter(PhoneFilterSet):
    """`?phone=&scope=&action=`."""

    scope = django_filters.CharFilter()
    action = choice_filter([Consent.GRANT, Consent.REVOKE])

    class Meta:
        model = Consent
        fields = ["phone", "scope", "action", "category"]


class ConsentViewSet(ListRetrieveViewSet):
    """The consent history: append-only; the newest record per (phone, scope, category) decides."""

    model = Consent
    serializer_class = ConsentSerializer
    filterset_class = ConsentFilter
    required_scopes = {
        "list": "consents:read",
        "retrieve": "consents:read",
        "create": "consents:write",
    }

    @extend_schema(
        request=ConsentCreateSerializer,
        responses={201: ConsentSerializer},
        examples=[CONSENT_EXAMPLE],
    )
    def create(self, request):
        """Record a grant or a revocation; audited."""
        form = ConsentCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        consent = services.consent_record(
            workspace_id=request.workspace.pk,
            actor=self.actor,
            request_ip=client_ip(request),
            **data,
        )
        return Response(consent_resource(consent), status=201)


EXPORTS_CREATE, EXPORTS_READ = "exports:create", "exports:read"

FILE_DESCRIPTION = "The data file (CSV with a header row, or JSON Lines), as an attachment."


class ExportFilter(StrictFilterSet):
    """`?kind=` and `?status=`."""

    kind = choice_filter(export_kinds)
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
        form = ExportCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        export = form.save(
            workspace_id=request.workspace.pk, actor=self.actor, ip=client_ip(request)
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
        handle, name, content_type = export_open(
            export=self.get_object(), actor=self.actor, ip=client_ip(request)
        )
        return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
