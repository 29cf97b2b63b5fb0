"""`/api/v1/contacts`, `/templates`, `/campaigns`, `/contact-imports` (CONTRACT §7): parse,
call a service, render."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from workspaces.api.base import ListRetrieveViewSet, client_ip, created
from workspaces.api.filtering import CreatedRangeFilterSet, StrictFilterSet
from workspaces.phones import to_e164

from .. import selectors
from ..imports.upload import contact_import_create
from ..models import Campaign, Contact, ContactImport, Template
from ..resources import campaign_resource, template_preview_resource
from ..services.contacts import contact_create, contact_delete, contact_update
from ..services.launch import campaign_create, campaign_dry_run, campaign_launch, campaign_update
from ..services.lifecycle import campaign_pause, campaign_resume, campaign_stop
from ..services.templates import template_create, template_update
from .schemas import (
    CAMPAIGN_EXAMPLE,
    CONTACT_EXAMPLE,
    PREVIEW_EXAMPLE,
    TEMPLATE_EXAMPLE,
    CampaignShape,
)
from .serializers import (
    STATUSES,
    CampaignSerializer,
    ContactImportCreateSerializer,
    ContactImportSerializer,
    ContactSerializer,
    DryRunSerializer,
    PreviewResultSerializer,
    PreviewSerializer,
    TemplateSerializer,
)


class ContactFilter(CreatedRangeFilterSet):
    """`?phone=`, `?tag=`, `?created_after=`, `?created_before=`."""

    phone = django_filters.CharFilter(method="filter_phone")
    tag = django_filters.CharFilter(method="filter_tag")

    class Meta:
        model = Contact
        fields = ["phone", "tag", "created_after"]

    def filter_phone(self, queryset, name, value):
        """Any format of the number finds it."""
        return queryset.filter(
            phone=to_e164(value, self.request.workspace.default_country) or value
        )

    def filter_tag(self, queryset, name, value):
        """Contacts carrying the tag (filtered in the database)."""
        return selectors.with_tag(queryset, value)


class ContactViewSet(ListRetrieveViewSet, mixins.DestroyModelMixin):
    """Contacts of the workspace, one per phone number."""

    model = Contact
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_scopes = {
        "list": "contacts:read",
        "retrieve": "contacts:read",
        "create": "contacts:write",
        "partial_update": "contacts:write",
        "destroy": "contacts:write",
    }

    @extend_schema(examples=[CONTACT_EXAMPLE])
    def create(self, request):
        """Add a contact (400 when the number is invalid or already a contact)."""
        form = ContactSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        contact = contact_create(workspace_id=request.workspace.pk, **form.validated_data)
        return Response(ContactSerializer(contact).data, status=201)

    def partial_update(self, request, pk=None):
        """Change some fields."""
        contact = self.get_object()
        form = ContactSerializer(
            contact, data=request.data, partial=True, context=self.get_serializer_context()
        )
        form.is_valid(raise_exception=True)
        contact = contact_update(contact=contact, changes=form.validated_data)
        return Response(ContactSerializer(contact).data)

    def destroy(self, request, pk=None):
        """Remove the contact (200 with it as it was)."""
        contact = self.get_object()
        data = ContactSerializer(contact).data
        contact_delete(contact=contact, actor=self.actor, ip=client_ip(request))
        return Response(data)


class TemplateViewSet(ListRetrieveViewSet):
    """Message templates with merge fields."""

    model = Template
    serializer_class = TemplateSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {
        "list": "campaigns:read",
        "retrieve": "campaigns:read",
        "create": "campaigns:write",
        "partial_update": "campaigns:write",
        "preview": "campaigns:read",
    }
    error_codes = {"preview": ("invalid_number", "missing_merge_field")}

    @extend_schema(examples=[TEMPLATE_EXAMPLE])
    def create(self, request):
        """Save a template."""
        form = TemplateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        template = template_create(workspace_id=request.workspace.pk, **form.validated_data)
        return Response(TemplateSerializer(template).data, status=201)

    def partial_update(self, request, pk=None):
        """Change the name or body."""
        form = TemplateSerializer(self.get_object(), data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        template = template_update(template=form.instance, changes=form.validated_data)
        return Response(TemplateSerializer(template).data)

    @extend_schema(
        request=PreviewSerializer,
        responses={200: PreviewResultSerializer},
        examples=[PREVIEW_EXAMPLE],
    )
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """The body for one recipient, with its encoding, segments and price."""
        template = self.get_object()
        form = PreviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        preview = selectors.template_preview(
            workspace=request.workspace,
            template=template,
            test=request.token.is_test,
            contact_id=form.validated_data.get("contact", ""),
            phone=form.validated_data.get("phone", ""),
        )
        return Response(template_preview_resource(preview))


# What a launch (and its dry run) answers when the campaign's `from` cannot send.
SENDER_ERRORS = ("sender_not_sms_capable", "toll_free_not_verified")


def transition_action(method):
    """A `POST /campaigns/{id}/<verb>` that moves the campaign and answers it."""
    documented = extend_schema(request=None, responses={200: CampaignShape})
    return documented(action(detail=True, methods=["post"])(method))


class CampaignViewSet(ListRetrieveViewSet):
    """Broadcasts: edited as drafts, then launched, paused, resumed or stopped."""

    model = Campaign
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {
        "list": "campaigns:read",
        "retrieve": "campaigns:read",
        "create": "campaigns:write",
        "partial_update": "campaigns:write",
        "dry_run": "campaigns:read",
        "launch": "campaigns:write",
        "pause": "campaigns:write",
        "resume": "campaigns:write",
        "stop": "campaigns:write",
    }
    error_codes = {
        "partial_update": ("invalid_state",),
        "dry_run": SENDER_ERRORS,
        "launch": ("invalid_state", "spend_limit_exceeded", *SENDER_ERRORS),
        "pause": ("invalid_state",),
        "resume": ("invalid_state",),
        "stop": ("invalid_state",),
    }

    def get_serializer_class(self):
        """The write serializer (the resource itself is a plain function)."""
        return CampaignSerializer

    @extend_schema(responses={200: CampaignShape(many=True)})
    def list(self, request):
        """The workspace's campaigns, newest first."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([campaign_resource(c) for c in page])

    @extend_schema(responses={200: CampaignShape})
    def retrieve(self, request, pk=None):
        """One campaign with its live stats."""
        return Response(campaign_resource(self.get_object()))

    @extend_schema(responses={201: CampaignShape}, examples=[CAMPAIGN_EXAMPLE])
    def create(self, request):
        """A draft campaign."""
        form = CampaignSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        campaign = campaign_create(
            workspace_id=request.workspace.pk,
            test=request.token.is_test,
            actor=self.actor,
            **form.validated_data,
        )
        return Response(campaign_resource(campaign), status=201)

    @extend_schema(responses={200: CampaignShape})
    def partial_update(self, request, pk=None):
        """Change a draft (409 `invalid_state` once launched)."""
        form = CampaignSerializer(
            data=request.data, partial=True, context=self.get_serializer_context()
        )
        form.is_valid(raise_exception=True)
        campaign = campaign_update(campaign=self.get_object(), changes=form.validated_data)
        return Response(campaign_resource(campaign))

    @extend_schema(request=None, responses={200: DryRunSerializer})
    @action(detail=True, methods=["post"], url_path="dry-run")
    def dry_run(self, request, pk=None):
        """What a launch would do now; nothing is sent or written."""
        return Response(campaign_dry_run(campaign=self.get_object()))

    def _act(self, verb):
        campaign = verb(campaign=self.get_object(), actor=self.actor)
        return Response(campaign_resource(campaign))

    @transition_action
    def launch(self, request, pk=None):
        """Draft → running (scheduled with a future `send_at`); reserves the whole cost (402)."""
        return self._act(campaign_launch)

    @transition_action
    def pause(self, request, pk=None):
        """Running → paused."""
        return self._act(campaign_pause)

    @transition_action
    def resume(self, request, pk=None):
        """Paused → running."""
        return self._act(campaign_resume)

    @transition_action
    def stop(self, request, pk=None):
        """Scheduled, running or paused → stopped; unsent messages are canceled."""
        return self._act(campaign_stop)


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
    required_scopes = {
        "list": "contacts:read",
        "retrieve": "contacts:read",
        "create": "contacts:write",
    }

    def get_queryset(self):
        """The workspace's imports (imports are not split by mode); a console upload waiting for
        its mapping is not an import yet."""
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, without a token
            return ContactImport.objects.none()
        return super().get_queryset().exclude(status=ContactImport.STAGED)

    @extend_schema(request=ContactImportCreateSerializer, responses={202: ContactImportSerializer})
    def create(self, request):
        """Upload a CSV: 202 with the import, `pending`; 400 when it has no `phone` column, or
        when its `columns` mapping does not fit the header."""
        form = ContactImportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        contact_import = contact_import_create(
            workspace_id=request.workspace.pk,
            upload=data["file"],
            tags=data["tags"],
            consent_disclosure=data["consent_disclosure"].strip(),
            actor=self.actor,
            ip=client_ip(request),
            columns=data.get("columns"),
        )
        return created(ContactImportSerializer, contact_import, status=202)
