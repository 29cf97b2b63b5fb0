"""`/api/v1/suppressions` and `/api/v1/consents` (CONTRACT §6): parse, call a service, render."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.response import Response

from workspaces.api.base import ListRetrieveViewSet, client_ip
from workspaces.api.filtering import StrictFilterSet, choice_filter
from workspaces.api.openapi import example
from workspaces.api.references import WorkspaceIdField
from workspaces.errors import TernError
from workspaces.permissions import require_manager_role
from workspaces.phones import to_e164

from .. import services
from ..models import Consent, Suppression
from ..resources import consent_resource, suppression_resource


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
    campaign = WorkspaceIdField("cmp", noun="campaign", required=False, allow_blank=True,
                                default="")  # fmt: skip

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
SUPPRESSION_EXAMPLE = example("A number that asked to stop", {"phone": "+14155550126",
                              "reason": "Asked by phone not to be texted."})  # fmt: skip
CONSENT_EXAMPLE = example(
    "A web form opt-in",
    {"phone": "+14155550127", "method": "web_form",
     "disclosure": "I agree to receive marketing texts from Acme. Reply STOP to opt out."},
)  # fmt: skip
REASON = OpenApiParameter("reason", str, description="why it is removed (or in the JSON body)")


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
            workspace_id=request.workspace.pk, phone=data["phone"], source="api",
            actor=self.actor, reason=data["reason"], scope=data["scope"],
            campaign_id=data["campaign"], ip=client_ip(request),
        )  # fmt: skip
        return Response(suppression_resource(suppression), status=201 if created else 200)

    @extend_schema(parameters=[REASON], responses={200: SuppressionSerializer})
    def destroy(self, request, pk=None):
        """Lift a suppression: owner/admin only, with a reason; soft and audited."""
        require_manager_role(request, "remove suppressions")
        suppression = self.get_object()
        reason = _removal_reason(request)
        removed = services.suppression_remove(suppression=suppression, actor=self.actor,
                                              reason=reason, ip=client_ip(request))  # fmt: skip
        return Response(suppression_resource(removed))


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
    disclosure = serializers.CharField(max_length=5000, required=False, allow_blank=True,
                                       default="")  # fmt: skip
    captured_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ip = serializers.IPAddressField(required=False, allow_blank=True, default="")
    user_agent = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                       default="")  # fmt: skip
    source_url = serializers.URLField(max_length=2000, required=False, allow_blank=True,
                                      default="")  # fmt: skip

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
            workspace_id=request.workspace.pk, actor=self.actor, request_ip=client_ip(request),
            **data,
        )  # fmt: skip
        return Response(consent_resource(consent), status=201)
