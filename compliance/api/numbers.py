"""`GET /api/v1/numbers/{e164}?as_of=`: one number's compliance story (CONTRACT §6)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces.errors import TernError

from ..models import Consent, Suppression
from ..numbers import as_of_parse, number_parse, number_story, story_resource
from .serializers import ConsentSerializer, SuppressionSerializer

CONSENTS_READ, SUPPRESSIONS_READ = "consents:read", "suppressions:read"
ENTRY_TYPES = ["consent", "suppression", "suppression_removed", "keyword_message"]


class _Kept(serializers.Serializer):
    """What every record of the story carries."""

    type = serializers.ChoiceField(choices=ENTRY_TYPES)
    at = serializers.DateTimeField(help_text="The moment the record is about.")
    recorded_at = serializers.DateTimeField(help_text="When Tern recorded it.")
    recorded_later = serializers.BooleanField(
        help_text="Recorded after `as_of` about an earlier moment: not what the gate relied on."
    )


class StoryConsentSerializer(_Kept, ConsentSerializer):
    """A consent record in the story."""


class StorySuppressionSerializer(_Kept, SuppressionSerializer):
    """A suppression as it stood at `as_of`."""


def _optional(field):
    field.required = False
    return field


class HistoryEntrySerializer(_Kept):
    """A consent or suppression record, a suppression's removal, or a keyword message."""

    id = serializers.CharField(help_text="`con_…`, `sup_…` or `msg_…`.")

    def get_fields(self):
        """The fields of each kind of record, present when the entry is of that kind."""
        fields = super().get_fields()
        for source in (ConsentSerializer(), SuppressionSerializer()):
            for name, field in source.get_fields().items():
                fields.setdefault(name, _optional(field))
        fields.setdefault("keyword", _optional(serializers.ChoiceField(["stop", "start", "help"])))
        fields.setdefault("from", _optional(serializers.CharField()))
        fields.setdefault("to", _optional(serializers.CharField()))
        fields["body"] = _optional(serializers.CharField())
        fields["action"] = _optional(serializers.ChoiceField([Consent.GRANT, Consent.REVOKE]))
        fields["scope"] = _optional(serializers.CharField())
        fields["source"] = _optional(serializers.ChoiceField(Suppression.SOURCES))
        return fields


class NumberStorySerializer(serializers.Serializer):
    """`{"phone", "as_of", "marketing_consent", "suppressions", "history"}`."""

    phone = serializers.CharField(help_text="E.164.")
    as_of = serializers.DateTimeField()
    marketing_consent = StoryConsentSerializer(
        allow_null=True, help_text="The workspace-wide marketing grant in force at `as_of`."
    )
    suppressions = StorySuppressionSerializer(many=True, help_text="Active at `as_of`.")
    history = HistoryEntrySerializer(many=True, help_text="Up to `as_of`, oldest first.")


AS_OF = OpenApiParameter(
    "as_of",
    str,
    description="ISO 8601 time, or a date (the end of that UTC day); default now.",
)
E164 = OpenApiParameter("e164", str, OpenApiParameter.PATH, description="The number, E.164.")


class NumberView(APIView):
    """One number's consent, suppressions and keywords, and its state at any moment."""

    required_scopes = {"get": CONSENTS_READ}  # and suppressions:read, checked in `get`
    error_codes = {"get": ("validation_error",)}

    @extend_schema(parameters=[E164, AS_OF], responses={200: NumberStorySerializer})
    def get(self, request, e164: str):
        """The consent in force and the suppressions active at `as_of`, and the history."""
        if SUPPRESSIONS_READ not in request.scopes:  # the 403 names the first missing scope
            raise TernError(
                "forbidden",
                f"This token lacks the `{SUPPRESSIONS_READ}` scope.",
                details={"required_scope": SUPPRESSIONS_READ},
            )
        phone = number_parse(e164, request.workspace.default_country)
        as_of = as_of_parse(request.query_params.get("as_of"))
        story = number_story(
            workspace_id=request.workspace.pk, phone=phone, as_of=as_of, test=request.token.is_test
        )
        return Response(story_resource(story))
