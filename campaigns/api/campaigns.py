"""`/api/v1/campaigns` (CONTRACT §7): drafts, the dry run, and launch/pause/resume/stop."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from messaging.api.serializers import send_at_in_range
from workspaces.api.base import ListRetrieveViewSet
from workspaces.api.references import WorkspaceIdField, WorkspaceSenderField

from .. import services
from ..models import Campaign
from ..rendering import unknown_fields
from ..resources import campaign_resource
from .schemas import CAMPAIGN_EXAMPLE, CampaignShape

# What a launch (and its dry run) answers when the campaign's `from` cannot send.
SENDER_ERRORS = ("sender_not_sms_capable", "toll_free_not_verified")


class AudienceSerializer(serializers.Serializer):
    """`{"tags": [...]}` (contacts with any of them) or `{"all": true}`."""

    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False,
                                 allow_empty=False, max_length=100)  # fmt: skip
    all = serializers.BooleanField(required=False)

    def validate(self, attrs):
        """Exactly one of the two ways."""
        if bool(attrs.get("tags")) == bool(attrs.get("all")):
            raise serializers.ValidationError('Give either "tags": [...] or "all": true.')
        return {"tags": sorted(set(attrs["tags"]))} if attrs.get("tags") else {"all": True}


class CampaignSerializer(serializers.Serializer):
    """What a draft campaign is made of; `template` or `body`, not both."""

    name = serializers.CharField(max_length=200)
    template = WorkspaceIdField(
        "tpl", noun="template", as_object=True, required=False, allow_null=True
    )
    body = serializers.CharField(required=False, allow_blank=False, max_length=1600)
    audience = AudienceSerializer()
    # `from` is a Python keyword: the field is renamed in __init__.
    from_number = WorkspaceSenderField()
    send_at = serializers.DateTimeField(required=False, allow_null=True)
    throttle_per_minute = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                                   max_value=60_000)  # fmt: skip
    opt_out_keywords = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, max_length=20
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = self.fields.pop("from_number")

    def validate_send_at(self, value):
        """At most 35 days ahead, as for a single message (CONTRACT §4)."""
        return send_at_in_range(value)

    def validate_body(self, value):
        """Only known merge fields."""
        unknown = unknown_fields(value)
        if unknown:
            raise serializers.ValidationError(f"Unknown merge fields: {', '.join(unknown)}")
        return value

    def validate_opt_out_keywords(self, value):
        """Single words, kept upper-case and unique."""
        words = sorted({" ".join(v.split()).upper() for v in value if v.strip()})
        if any(" " in w for w in words):
            raise serializers.ValidationError("Each opt-out keyword is a single word.")
        return words

    def validate(self, attrs):
        """Template xor body (on create; a change may give either one)."""
        has_template, has_body = bool(attrs.get("template")), bool(attrs.get("body"))
        if not self.partial and has_template == has_body:
            raise serializers.ValidationError('Give either "template" or "body".')
        if "from" in attrs:
            attrs["from_number"] = attrs.pop("from")
        if has_template:
            attrs["body"] = ""
        elif has_body:
            attrs["template"] = None
        return attrs


class DryRunSerializer(serializers.Serializer):
    """`{"recipients", "messages", "skipped": {code: n}, "segments", "cost"}`."""

    recipients = serializers.IntegerField()
    messages = serializers.IntegerField()
    skipped = serializers.DictField(child=serializers.IntegerField())
    segments = serializers.IntegerField()
    cost = serializers.CharField()


class CampaignViewSet(ListRetrieveViewSet):
    """Broadcasts: edited as drafts, then launched, paused, resumed or stopped."""

    model = Campaign
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {"list": "campaigns:read", "retrieve": "campaigns:read",
                       "create": "campaigns:write", "partial_update": "campaigns:write",
                       "dry_run": "campaigns:read", "launch": "campaigns:write",
                       "pause": "campaigns:write", "resume": "campaigns:write",
                       "stop": "campaigns:write"}  # fmt: skip
    error_codes = {"partial_update": ("invalid_state",), "dry_run": SENDER_ERRORS,
                   "launch": ("invalid_state", "spend_limit_exceeded", *SENDER_ERRORS),
                   "pause": ("invalid_state",), "resume": ("invalid_state",),
                   "stop": ("invalid_state",)}  # fmt: skip

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
        campaign = services.campaign_create(workspace_id=request.workspace.pk,
                                            test=request.token.is_test, actor=self.actor,
                                            **form.validated_data)  # fmt: skip
        return Response(campaign_resource(campaign), status=201)

    @extend_schema(responses={200: CampaignShape})
    def partial_update(self, request, pk=None):
        """Change a draft (409 `invalid_state` once launched)."""
        form = CampaignSerializer(data=request.data, partial=True,
                                  context=self.get_serializer_context())  # fmt: skip
        form.is_valid(raise_exception=True)
        campaign = services.campaign_update(campaign=self.get_object(),
                                            changes=form.validated_data)  # fmt: skip
        return Response(campaign_resource(campaign))

    @extend_schema(request=None, responses={200: DryRunSerializer})
    @action(detail=True, methods=["post"], url_path="dry-run")
    def dry_run(self, request, pk=None):
        """What a launch would do now; nothing is sent or written."""
        return Response(services.campaign_dry_run(campaign=self.get_object()))

    def _act(self, verb):
        campaign = verb(campaign=self.get_object(), actor=self.actor)
        return Response(campaign_resource(campaign))

    @extend_schema(request=None, responses={200: CampaignShape})
    @action(detail=True, methods=["post"])
    def launch(self, request, pk=None):
        """Draft → running (scheduled with a future `send_at`); reserves the whole cost (402)."""
        return self._act(services.campaign_launch)

    @extend_schema(request=None, responses={200: CampaignShape})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Running → paused."""
        return self._act(services.campaign_pause)

    @extend_schema(request=None, responses={200: CampaignShape})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Paused → running."""
        return self._act(services.campaign_resume)

    @extend_schema(request=None, responses={200: CampaignShape})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Scheduled, running or paused → stopped; unsent messages are canceled."""
        return self._act(services.campaign_stop)
