"""`/api/v1/contacts` and `/api/v1/templates` (CONTRACT §7): parse, call a service, render."""

import json
from zoneinfo import available_timezones

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from workspaces.api.base import ListRetrieveViewSet, client_ip
from workspaces.api.filtering import CreatedRangeFilterSet
from workspaces.phones import to_e164

from .. import selectors, services
from ..models import Contact, Template
from ..rendering import unknown_fields
from ..resources import contact_resource, template_preview_resource, template_resource
from .schemas import CONTACT_EXAMPLE, PREVIEW_EXAMPLE, TEMPLATE_EXAMPLE

_ZONES = None
# Documented bounds of contacts' and templates' free text (the schema shows them).
ATTRIBUTES_MAX_KEYS, ATTRIBUTE_KEY_MAX, ATTRIBUTES_MAX_BYTES = 50, 64, 4096
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
        fields = ["id", "phone", "first_name", "last_name", "timezone", "tags", "attributes",
                  "created_at", "updated_at"]  # fmt: skip
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
        """Contacts carrying the tag."""
        ids = [c.pk for c in queryset.only("id", "tags") if value in (c.tags or [])]
        return queryset.filter(pk__in=ids)


class ContactViewSet(ListRetrieveViewSet, mixins.DestroyModelMixin):
    """Contacts of the workspace, one per phone number."""

    model = Contact
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_scopes = {"list": "contacts:read", "retrieve": "contacts:read",
                       "create": "contacts:write", "partial_update": "contacts:write",
                       "destroy": "contacts:write"}  # fmt: skip

    @extend_schema(examples=[CONTACT_EXAMPLE])
    def create(self, request):
        """Add a contact (400 when the number is invalid or already a contact)."""
        form = ContactSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        contact = services.contact_create(workspace_id=request.workspace.pk, **form.validated_data)
        return Response(ContactSerializer(contact).data, status=201)

    def partial_update(self, request, pk=None):
        """Change some fields."""
        contact = self.get_object()
        form = ContactSerializer(contact, data=request.data, partial=True,
                                 context=self.get_serializer_context())  # fmt: skip
        form.is_valid(raise_exception=True)
        contact = services.contact_update(contact=contact, changes=form.validated_data)
        return Response(ContactSerializer(contact).data)

    def destroy(self, request, pk=None):
        """Remove the contact (200 with it as it was)."""
        contact = self.get_object()
        data = ContactSerializer(contact).data
        services.contact_delete(contact=contact, actor=self.actor, ip=client_ip(request))
        return Response(data)


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


class TemplateViewSet(ListRetrieveViewSet):
    """Message templates with merge fields."""

    model = Template
    serializer_class = TemplateSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {"list": "campaigns:read", "retrieve": "campaigns:read",
                       "create": "campaigns:write", "partial_update": "campaigns:write",
                       "preview": "campaigns:read"}  # fmt: skip
    error_codes = {"preview": ("invalid_number", "missing_merge_field")}

    @extend_schema(examples=[TEMPLATE_EXAMPLE])
    def create(self, request):
        """Save a template."""
        form = TemplateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        template = services.template_create(workspace_id=request.workspace.pk,
                                            **form.validated_data)  # fmt: skip
        return Response(TemplateSerializer(template).data, status=201)

    def partial_update(self, request, pk=None):
        """Change the name or body."""
        form = TemplateSerializer(self.get_object(), data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        template = services.template_update(template=form.instance, changes=form.validated_data)
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
