"""`GET /api/v1/refusals` and the serializers of CONTRACT §13's records: read-only views."""

from rest_framework import mixins, serializers
from rest_framework.response import Response

from workspaces.api.base import WorkspaceViewSet
from workspaces.api.filtering import CreatedRangeFilterSet, choice_filter
from workspaces.errors import CATALOGUE

from ..records import ProviderExchange, Refusal
from ..resources import provider_exchange_resource, refusal_resource

REFUSAL_CODES = sorted(code for code, spec in CATALOGUE.items() if spec.http_status)


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


class RefusalFilter(CreatedRangeFilterSet):
    """`?code=`; `created_after` inclusive, `created_before` exclusive."""

    code = choice_filter(REFUSAL_CODES)

    class Meta:
        model = Refusal
        fields = ["code", "created_after", "created_before"]


class RefusalViewSet(mixins.ListModelMixin, WorkspaceViewSet):
    """Sends Tern refused in the token's mode, newest first (an integrator's error log)."""

    model = Refusal
    serializer_class = RefusalSerializer
    filterset_class = RefusalFilter
    required_scopes = {"list": "messages:read"}

    def list(self, request):
        """Newest first, cursor-paginated; filters `code`, `created_after`, `created_before`."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def provider_log_response(exchanges) -> Response:
    """The provider log as a JSON list, oldest first."""
    return Response(ProviderExchangeSerializer(exchanges, many=True).data)
