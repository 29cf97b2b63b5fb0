"""Tokens, the workspace, senders and audit events: parse, call a service, render."""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import ApiToken, AuditEvent, Sender
from .base import ListRetrieveViewSet, client_ip, created
from .filtering import CreatedRangeFilterSet
from .openapi import example
from .serializers import (
    AuditEventSerializer,
    SenderSerializer,
    TokenCreatedSerializer,
    TokenCreateSerializer,
    TokenSerializer,
    WorkspaceSerializer,
)

MANAGE = "workspace:manage"
SENDER_EXAMPLE = example(
    "A long code", {"number": "+14155550188", "kind": "long_code", "country": "US"}
)
TOKEN_EXAMPLE = example("A read-only token", {"name": "reporting", "scopes": ["messages:read"]})


class TokenViewSet(ListRetrieveViewSet, mixins.DestroyModelMixin):
    """`/api/v1/tokens`: list, mint (secret shown once), read, revoke."""

    model = ApiToken
    serializer_class = TokenSerializer
    required_scopes = {"list": MANAGE, "retrieve": MANAGE, "create": MANAGE, "destroy": MANAGE}

    def get_queryset(self):
        """Every token of the workspace, both modes: managing tokens is not mode data."""
        return ApiToken.objects.for_workspace(self.request.workspace).select_related(
            "created_by__user"
        )

    @extend_schema(
        request=TokenCreateSerializer,
        responses={201: TokenCreatedSerializer},
        examples=[TOKEN_EXAMPLE],
    )
    def create(self, request):
        """Mint a token with scopes no wider than the caller's token and its creator's role."""
        form = TokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        token, secret = services.token_create(
            creator=request.token.created_by,
            actor=self.actor,
            ip=client_ip(request),
            within=request.scopes,
            caller=request.token,
            **{"mode": request.token.mode, **form.validated_data},
        )
        token.token = secret
        return created(TokenCreatedSerializer, token)

    @extend_schema(responses={200: TokenSerializer})
    def destroy(self, request, pk=None):
        """Revoke: 200 with the token, `revoked_at` set."""
        token = services.token_revoke(
            token=self.get_object(), actor=self.actor, ip=client_ip(request), caller=request.token
        )
        return created(TokenSerializer, token, status=200)


class WorkspaceView(APIView):
    """`/api/v1/workspace`: the token's own workspace."""

    required_scopes = {"get": MANAGE, "patch": MANAGE}
    live_only = {"patch": "change the workspace's settings"}

    @extend_schema(responses={200: WorkspaceSerializer})
    def get(self, request):
        """The workspace's settings and this month's spend."""
        return Response(WorkspaceSerializer(request.workspace).data)

    @extend_schema(request=WorkspaceSerializer, responses={200: WorkspaceSerializer})
    def patch(self, request):
        """Change settings; every change is audited with before and after."""
        form = WorkspaceSerializer(request.workspace, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        workspace = services.workspace_update(
            workspace=request.workspace,
            actor=services.token_actor(request.token),
            changes=form.validated_data,
            ip=client_ip(request),
        )
        return Response(WorkspaceSerializer(workspace).data)


class SenderViewSet(ListRetrieveViewSet, mixins.DestroyModelMixin):
    """`/api/v1/senders`: the numbers this workspace sends from."""

    model = Sender
    serializer_class = SenderSerializer
    required_scopes = {"list": MANAGE, "retrieve": MANAGE, "create": MANAGE, "destroy": MANAGE}
    live_only = {"create": "add senders", "destroy": "remove senders"}
    error_codes = {"create": ("sender_in_use",)}

    def scope_queryset(self, queryset):
        """Removed senders are gone from the API (the audit log keeps them)."""
        return queryset.filter(removed_at=None)

    @extend_schema(
        request=SenderSerializer, responses={201: SenderSerializer}, examples=[SENDER_EXAMPLE]
    )
    def create(self, request):
        """Register a number; 409 `sender_in_use` if any workspace already has it."""
        form = SenderSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        sender = services.sender_create(
            workspace=request.workspace,
            actor=self.actor,
            ip=client_ip(request),
            **form.validated_data,
        )
        return created(SenderSerializer, sender)

    @extend_schema(responses={200: SenderSerializer})
    def destroy(self, request, pk=None):
        """Retire the number (200 with the sender as it was)."""
        sender = services.sender_remove(
            sender=self.get_object(), actor=self.actor, ip=client_ip(request)
        )
        return created(SenderSerializer, sender, status=200)


class AuditEventFilter(CreatedRangeFilterSet):
    """`?action=`, `?actor=`, `?created_after=` (inclusive) and `?created_before=`."""

    action = django_filters.CharFilter()
    actor = django_filters.CharFilter(
        method="by_actor",
        max_length=254,
        help_text="Who acted: an actor's id exactly (a token's `tok_…`, a member's user id), its "
        "type (`user`, `token`, `system`), or words of its label (a member's email, a token's "
        "name).",
    )

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "created_after", "created_before"]

    def by_actor(self, events, name, value: str):
        """Events by this actor: its id exactly, its type, or words of its label (an email)."""
        actor = value.strip()
        return events.filter(
            Q(actor_id=actor) | Q(actor_type=actor.lower()) | Q(actor_label__icontains=actor)
        )


class AuditEventViewSet(ListRetrieveViewSet):
    """`/api/v1/audit-events`: read-only, newest first."""

    model = AuditEvent
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    required_scopes = {"list": "audit:read", "retrieve": "audit:read"}

    def get_queryset(self):
        """The workspace's chain (audit is not split by mode)."""
        return selectors.audit_event_list(workspace=self.request.workspace)
