"""The one exception handler: every API error, DRF's and Django's included, becomes the envelope."""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from ..errors import TernError
from ..middleware import current_request_id

logger = logging.getLogger("tern.api")

_DRF_CODES = [
    (drf.NotAuthenticated, "unauthorized"),
    (drf.AuthenticationFailed, "unauthorized"),
    (drf.PermissionDenied, "forbidden"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.NotAcceptable, "validation_error"),
    (drf.ParseError, "validation_error"),
    (drf.ValidationError, "validation_error"),
]


def as_tern_error(exc: Exception) -> TernError:
    """Translate any exception into a catalogue error (unknown ones: internal_error)."""
    if isinstance(exc, TernError):
        return exc
    if isinstance(exc, Http404 | drf.NotFound):
        return TernError("not_found")
    if isinstance(exc, PermissionDenied):
        return TernError("forbidden")
    if isinstance(exc, RequestDataTooBig):
        return TernError("payload_too_large")
    if isinstance(exc, drf.Throttled):
        return TernError("rate_limited", headers={"Retry-After": str(max(1, int(exc.wait or 1)))})
    for exc_type, code in _DRF_CODES:
        if isinstance(exc, exc_type):
            return TernError(code, **_drf_message_and_details(exc, code))
    logger.exception("unexpected error (request %s)", current_request_id())
    return TernError("internal_error", details={"request_id": current_request_id()})


def _drf_message_and_details(exc: drf.APIException, code: str) -> dict:
    if code == "validation_error":
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        if isinstance(exc, drf.ParseError):
            return {"message": f"The body could not be parsed: {exc.detail}", "details": {}}
        return {"details": _plain(detail)}
    if code == "method_not_allowed":
        return {"message": str(exc.detail)}
    return {}


def _plain(detail):
    """DRF's ErrorDetail trees as plain JSON: field → list of messages."""
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(v) for v in detail]
    return str(detail)


def handle_exception(exc, context):
    """DRF's EXCEPTION_HANDLER: render the envelope with the catalogue's status and headers."""
    error = as_tern_error(exc)
    response = Response(error.envelope(), status=error.http_status)
    for name, value in error.headers.items():
        response[name] = value
    if error.code == "unauthorized":
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
