"""Webhook endpoints, deliveries and events (CONTRACT §8): parse, call a service, render."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from workspaces import clock
from workspaces.api.base import ListRetrieveViewSet, client_ip, created
from workspaces.api.filtering import CreatedRangeFilterSet, choice_filter
from workspaces.api.openapi import example
from workspaces.errors import TernError

from .. import selectors
from ..events import EVENT_TYPES
from ..models import Event, WebhookDelivery, WebhookEndpoint
from ..services import endpoints, sweeps
from .serializers import (
    EventSerializer,
    ReplayedSerializer,
    ReplayRangeSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSecretSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWriteSerializer,
)

MANAGE = "webhooks:manage"
DELIVERY_STATUSES = (WebhookDelivery.PENDING, WebhookDelivery.SUCCEEDED, WebhookDelivery.FAILED)
ENDPOINT_EXAMPLE = example(
    "Delivery outcomes",
    {"url": "https://hooks.example.com/tern", "events": ["message.delivered", "message.failed"]},
)


def _schema_only(view) -> bool:
    """drf-spectacular calls get_queryset without a token to find the model and its filters."""
    return getattr(view, "swagger_fake_view", False)


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    """A disabled endpoint gets nothing: an attempt to it would fail at once."""
    if not endpoint.enabled:
        raise TernError(
            "invalid_state",
            "The endpoint is disabled.",
            details={"endpoint": endpoint.id, "disabled_reason": endpoint.disabled_reason},
        )


class WebhookEndpointViewSet(ListRetrieveViewSet, mixins.DestroyModelMixin):
    """Endpoints of the token's workspace and mode: the secret is shown on creation only."""

    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    required_scopes = {
        "list": MANAGE,
        "retrieve": MANAGE,
        "create": MANAGE,
        "partial_update": MANAGE,
        "destroy": MANAGE,
        "rotate_secret": MANAGE,
        "send_test": MANAGE,
        "replay": MANAGE,
    }
    error_codes = {"send_test": ("invalid_state",), "replay": ("invalid_state",)}

    def get_queryset(self):
        """The token's workspace and mode only."""
        if _schema_only(self):
            return self.model.objects.none()
        token = self.request.token
        return selectors.endpoint_list(workspace_id=token.workspace_id, test=token.is_test)

    @extend_schema(
        request=WebhookEndpointWriteSerializer,
        responses={201: WebhookEndpointSecretSerializer},
        examples=[ENDPOINT_EXAMPLE],
    )
    def create(self, request):
        """A new endpoint in the token's mode; 201 with its `secret`, shown this once."""
        form = WebhookEndpointWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        endpoint, secret = endpoints.endpoint_create(
            workspace_id=request.workspace.pk,
            test=request.token.is_test,
            actor=self.actor,
            ip=client_ip(request),
            **form.validated_data,
        )
        return created(WebhookEndpointSecretSerializer, endpoint, extra={"secret": secret})

    @extend_schema(
        request=WebhookEndpointWriteSerializer, responses={200: WebhookEndpointSerializer}
    )
    def partial_update(self, request, pk=None):
        """Change url, events, description or enabled (true clears the disabled state)."""
        endpoint = self.get_object()
        form = WebhookEndpointWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        if form.validated_data:
            endpoint = endpoints.endpoint_update(
                endpoint=endpoint,
                changes=form.validated_data,
                actor=self.actor,
                ip=client_ip(request),
            )
        return created(WebhookEndpointSerializer, endpoint, status=200)

    @extend_schema(responses={200: WebhookEndpointSerializer})
    def destroy(self, request, pk=None):
        """Remove the endpoint and its deliveries: 200 with the endpoint as it was."""
        endpoint = self.get_object()
        gone = WebhookEndpointSerializer(endpoint).data
        endpoints.endpoint_delete(endpoint=endpoint, actor=self.actor, ip=client_ip(request))
        return Response(gone, status=200)

    @extend_schema(request=None, responses={200: WebhookEndpointSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret; the old one keeps signing (both signatures sent) for 24 hours."""
        endpoint = self.get_object()
        secret = endpoints.endpoint_rotate_secret(
            endpoint=endpoint, actor=self.actor, ip=client_ip(request)
        )
        return created(
            WebhookEndpointSecretSerializer, endpoint, status=200, extra={"secret": secret}
        )

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request, pk=None):
        """Send a `ping` event to this endpoint alone: 202 with its delivery."""
        endpoint = self.get_object()
        _require_enabled(endpoint)
        delivery = endpoints.endpoint_ping(endpoint=endpoint)
        return created(WebhookDeliverySerializer, delivery, status=202)

    @extend_schema(request=ReplayRangeSerializer, responses={202: ReplayedSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Queue again the endpoint's failed deliveries created in [since, until)."""
        endpoint = self.get_object()  # another workspace's id is 404 before the body is read
        form = ReplayRangeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        _require_enabled(endpoint)
        count = sweeps.endpoint_replay_failed(
            endpoint=endpoint, actor=self.actor, ip=client_ip(request), **form.validated_data
        )
        return created(ReplayedSerializer, {"replayed": count}, status=202)


class WebhookDeliveryFilter(CreatedRangeFilterSet):
    """`?endpoint=`, `?event_id=`, `?status=`; `created_after` inclusive, `created_before` not."""

    endpoint = django_filters.CharFilter(field_name="endpoint_id")
    event_id = django_filters.CharFilter(field_name="event_id")
    status = django_filters.ChoiceFilter(choices=[(s, s) for s in DELIVERY_STATUSES])

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "event_id", "status", "created_after", "created_before"]


class WebhookDeliveryViewSet(ListRetrieveViewSet):
    """Deliveries to the endpoints of the token's workspace and mode, newest first."""

    model = WebhookDelivery
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    required_scopes = {"list": MANAGE, "retrieve": MANAGE, "replay": MANAGE}
    error_codes = {"replay": ("invalid_state",)}

    def get_queryset(self):
        """Scoped through the endpoint's mode; event and attempts fetched per page, not per row."""
        if _schema_only(self):
            return self.model.objects.none()
        token = self.request.token
        return selectors.delivery_list(workspace_id=token.workspace_id, test=token.is_test)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Deliver the same event (same `webhook-id`) again, on a fresh schedule."""
        delivery = self.get_object()
        _require_enabled(delivery.endpoint)
        delivery = sweeps.delivery_replay(
            delivery=delivery, actor=self.actor, ip=client_ip(request)
        )
        return created(WebhookDeliverySerializer, delivery, status=202)


class EventFilter(CreatedRangeFilterSet):
    """`?type=`; `created_after` inclusive, `created_before` exclusive."""

    type = choice_filter(EVENT_TYPES)

    class Meta:
        model = Event
        fields = ["type", "created_after", "created_before"]


class EventViewSet(ListRetrieveViewSet):
    """The last 30 days of the workspace's events in the token's mode, newest first."""

    model = Event
    serializer_class = EventSerializer
    filterset_class = EventFilter
    required_scopes = {"list": "messages:read", "retrieve": "messages:read"}

    def get_queryset(self):
        """Older events are past retention, for reading one as for listing."""
        if _schema_only(self):
            return self.model.objects.none()
        token = self.request.token
        return selectors.event_list(
            workspace_id=token.workspace_id, test=token.is_test, now=clock.now()
        )
