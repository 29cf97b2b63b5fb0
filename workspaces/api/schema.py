"""OpenAPI: every operation documents the error envelope for each status it can answer with."""

from collections import defaultdict

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ..errors import CATALOGUE
from . import openapi  # noqa: F401 (registers the bearer security scheme)


class ErrorBodySerializer(serializers.Serializer):
    """The inside of the envelope."""

    code = serializers.ChoiceField(choices=sorted(CATALOGUE))
    message = serializers.CharField()
    fix = serializers.CharField()
    retry = serializers.ChoiceField(choices=sorted({e.retry for e in CATALOGUE.values()}))
    details = serializers.DictField(
        help_text="What the error is about: for `validation_error`, field → list of messages."
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    """`{"error": {code, message, fix, retry, details}}`, the body of every 4xx/5xx."""

    error = ErrorBodySerializer()


# Any route: no or a bad token, a scope or role it lacks, an unknown or foreign id (and unknown
# routes), the workspace's rate limit, a bug.
ALWAYS = ("unauthorized", "forbidden", "not_found", "rate_limited", "internal_error")
# A route that reads a body: the JSON (or multipart) reader's refusals.
WITH_BODY = ("validation_error", "unsupported_media_type", "payload_too_large")
# A route with query parameters (filters, `limit`, `cursor`, headers): a value it cannot use.
WITH_PARAMETERS = ("validation_error",)
# Headers the error responses carry (every response also carries X-Request-Id).
ERROR_HEADERS = {
    "401": {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": '`Bearer realm="api"`'}
    },
    "429": {
        "Retry-After": {
            "schema": {"type": "integer", "minimum": 1},
            "description": "Seconds to wait before retrying.",
        }
    },
}
PAGE_LIMIT = {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}


class TernAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the envelope for each error code a route can give."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        """The operation, with an error response for every status the route can answer."""
        self._fake_queryset()
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        codes = self._error_codes(operation)
        by_status = defaultdict(list)
        for code in dict.fromkeys(codes):
            by_status[str(CATALOGUE[code].http_status)].append(code)
        for status, named in sorted(by_status.items()):
            described = OpenApiResponse(
                ErrorEnvelopeSerializer, description="Error: " + ", ".join(f"`{c}`" for c in named)
            )
            operation["responses"].setdefault(
                status, self._get_response_for_code(described, status)
            )
        for status, headers in ERROR_HEADERS.items():
            if status in operation["responses"]:
                operation["responses"][status].setdefault("headers", {}).update(headers)
        return operation

    def _fake_queryset(self) -> None:
        """Views build querysets from the request's token, which schema generation has not."""
        model = getattr(self.view, "model", None)
        if model is not None and getattr(self.view, "queryset", None) is None:
            self.view.queryset = model.objects.none()

    def _error_codes(self, operation: dict) -> list[str]:
        codes = list(ALWAYS)
        if "requestBody" in operation:
            codes += WITH_BODY
        if any(p["in"] in ("query", "header") for p in operation.get("parameters", ())):
            codes += WITH_PARAMETERS
        extra = getattr(self.view, "error_codes", {})
        codes += extra.get(getattr(self.view, "action", None) or self.method.lower(), ())
        return codes

    def _get_filter_parameters(self):
        """Filters under the names clients send (`from_` is `from`)."""
        parameters = super()._get_filter_parameters()
        filterset = getattr(self.view, "filterset_class", None)
        renamed = getattr(filterset, "PARAM_NAMES", {})
        for parameter in parameters:
            name = parameter["name"]
            parameter["name"] = renamed.get(name, name.rstrip("_"))
        return parameters

    def _get_pagination_parameters(self):
        """`limit` is 1–200 (a value outside answers 400); `cursor` is opaque."""
        parameters = super()._get_pagination_parameters()
        for parameter in parameters:
            if parameter["name"] == "limit":
                parameter["schema"] = dict(PAGE_LIMIT)
                parameter["description"] = "Results per page, 1–200 (default 50)."
            elif parameter["name"] == "cursor":
                parameter["description"] = "The `next` or `previous` cursor of a page, as given."
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if "204" in responses:  # Tern answers every write with a JSON body (CONTRACT §0)
            del responses["204"]
            responses["200"] = self._get_response_for_code(
                self.get_response_serializers(), "200", direction=direction
            )
        return responses
