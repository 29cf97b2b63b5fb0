"""OpenAPI: every operation documents the error envelope for each status it can answer with."""

from collections import defaultdict

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ..errors import CATALOGUE


class ErrorBodySerializer(serializers.Serializer):
    """The inside of the envelope."""

    code = serializers.ChoiceField(choices=sorted(CATALOGUE))
    message = serializers.CharField()
    fix = serializers.CharField()
    retry = serializers.ChoiceField(choices=sorted({e.retry for e in CATALOGUE.values()}))
    details = serializers.DictField()


class ErrorEnvelopeSerializer(serializers.Serializer):
    """`{"error": {code, message, fix, retry, details}}`, the body of every 4xx/5xx."""

    error = ErrorBodySerializer()


ALWAYS = ("unauthorized", "forbidden", "rate_limited", "internal_error")
ON_WRITE = ("validation_error", "unsupported_media_type", "payload_too_large")


class TernAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the envelope for each error code a route can give."""

    def _error_codes(self) -> list[str]:
        codes = list(ALWAYS)
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ON_WRITE
        if "{id}" in self.path or "{pk}" in self.path:
            codes.append("not_found")
        extra = getattr(self.view, "error_codes", {})
        codes += extra.get(getattr(self.view, "action", None) or self.method.lower(), ())
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if "204" in responses:  # Tern answers every write with a JSON body (CONTRACT §0)
            del responses["204"]
            responses["200"] = self._get_response_for_code(
                self.get_response_serializers(), "200", direction=direction
            )
        by_status = defaultdict(list)
        for code in self._error_codes():
            by_status[str(CATALOGUE[code].http_status)].append(code)
        for status, codes in sorted(by_status.items()):
            described = OpenApiResponse(
                ErrorEnvelopeSerializer, description="Error: " + ", ".join(f"`{c}`" for c in codes)
            )
            responses.setdefault(
                status, self._get_response_for_code(described, status, direction=direction)
            )
        return responses
