"""OpenAPI extensions and documentation-only shapes.

The bearer security scheme that "Try it out" in /api/docs/ uses, and serializers that describe
dicts the code renders itself (they are never used to render).
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from ..errors import CATALOGUE


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer tern_live_…` (or `tern_test_…`), as http/bearer."""

    target_class = "workspaces.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        """One http bearer scheme; the secret is an API token, not a JWT."""
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tern_live_… or tern_test_…",
            "description": "An API token: `Authorization: Bearer tern_live_…` "
            "(test-mode tokens start with `tern_test_`).",
        }


class ActorShape(serializers.Serializer):
    """Who did it: a member, a token, staff or the system."""

    type = serializers.ChoiceField(choices=["user", "token", "staff", "system"])
    id = serializers.CharField(help_text="Empty for the system.")
    label = serializers.CharField()


class TargetShape(serializers.Serializer):
    """What it was done to (both empty when nothing in particular)."""

    type = serializers.CharField()
    id = serializers.CharField()


class DeliveryErrorShape(serializers.Serializer):
    """Why a message failed: a catalogue code, with the provider's own code when it gave one."""

    code = serializers.ChoiceField(choices=sorted(c for c, e in CATALOGUE.items()))
    message = serializers.CharField()
    fix = serializers.CharField()
    retry = serializers.ChoiceField(choices=sorted({e.retry for e in CATALOGUE.values()}))
    provider_code = serializers.CharField(allow_null=True)


def example(summary: str, value: dict) -> OpenApiExample:
    """A valid request body: shown in /api/docs/ and sent first by schema-driven tests."""
    return OpenApiExample(summary, value=value, request_only=True)
