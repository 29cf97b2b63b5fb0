"""Request ids; the API edge: body-size and NUL guards, the envelope for every error, CSRF."""

import logging
import re
import threading
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware

from .errors import TernError

_local = threading.local()
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
API_PREFIXES = ("/api/", "/hooks/")


def current_request_id() -> str:
    """The id of the request this thread is serving, or '-'."""
    return getattr(_local, "request_id", "-")


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record."""

    def filter(self, record):
        record.request_id = current_request_id()
        return True


class RequestIdMiddleware:
    """Echo a sane client X-Request-Id or mint one; every response carries it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else f"req_{uuid.uuid4().hex}"
        request.request_id = _local.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            _local.request_id = "-"
        response["X-Request-Id"] = request_id
        return response


def is_api_path(path: str) -> bool:
    """API and provider-hook paths answer with the error envelope, never HTML."""
    return path.startswith(API_PREFIXES)


def error_response(error: TernError) -> JsonResponse:
    """A plain Django response carrying the envelope (for errors outside DRF views)."""
    response = JsonResponse(error.envelope(), status=error.http_status)
    for name, value in error.headers.items():
        response[name] = value
    return response


class PayloadLimitMiddleware:
    """Refuse oversized API bodies up front: 413 `payload_too_large`, before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.path.rstrip("/") in settings.FILE_UPLOAD_PATHS:
            # File uploads stream to disk; their own view checks the file's size exactly.
            limit = settings.FILE_UPLOAD_MAX_BYTES + 64 * 1024  # room for the multipart framing
        if is_api_path(request.path) and length.isdigit() and int(length) > limit:
            return error_response(TernError("payload_too_large", details={"max_bytes": limit}))
        return self.get_response(request)


# What a non-JSON error page under /api/ or /hooks/ (Django's or a decorator's) becomes.
_ENVELOPE_FOR_STATUS = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NUL = "\x00"


class ApiEnvelopeMiddleware:
    """Every 4xx/5xx under /api/ and /hooks/ is the envelope, whoever answered (CONTRACT §3).

    Views answer the envelope themselves; this catches the rest: Django's CSRF page, a
    `require_POST` decorator's bare 405, an HTML 404 or 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or not is_api_path(request.path_info):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        return envelope_for_status(response)


def envelope_for_status(response):
    """The envelope that stands for a bare error response (its Allow header kept)."""
    if response.status_code >= 500:
        error = TernError("internal_error", details={"request_id": current_request_id()})
    else:
        error = TernError(_ENVELOPE_FOR_STATUS.get(response.status_code, "validation_error"))
    enveloped = error_response(error)
    if response.status_code == 405 and response.has_header("Allow"):
        enveloped["Allow"] = response["Allow"]
    return enveloped


class ApiInputGuardMiddleware:
    """NUL characters in the path, query string, headers or form fields of /api/, /hooks/ → 400.

    No database column takes NUL (PostgreSQL refuses it in text and jsonb), so it is refused at
    the edge with words rather than as a 500 deep inside. JSON bodies are checked by the parser.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path_info):
            try:
                where = _nul_location(request)
            except RequestDataTooBig:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                return error_response(TernError("payload_too_large", details={"max_bytes": limit}))
            except (SuspiciousOperation, MultiPartParserError) as exc:
                return error_response(
                    TernError(
                        "validation_error",
                        "The form body could not be read.",
                        details={"body": [str(exc)[:200]]},
                    )
                )
            if where is not None:
                return error_response(
                    TernError(
                        "validation_error",
                        f"`{where}` holds a NUL character (%00), which Tern does not accept.",
                        details={where: ["NUL characters are not allowed."]},
                    )
                )
        return self.get_response(request)


def _nul_location(request) -> str | None:
    """Where a NUL character hides in the request (a parameter or header name), or None."""
    if NUL in request.path:
        return "path"
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in v for v in values):
            return name.replace(NUL, "") or "query"
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            return key[5:].replace("_", "-").title()
    content_type = request.META.get("CONTENT_TYPE", "")
    if request.method == "POST" and content_type.startswith(_FORM_TYPES):
        for name, values in request.POST.lists():
            if NUL in name or any(NUL in v for v in values):
                return name.replace(NUL, "") or "body"
        for name, upload in request.FILES.items():
            if NUL in name or NUL in (upload.name or ""):
                return name.replace(NUL, "") or "file"
    return None


class ApiCsrfViewMiddleware(CsrfViewMiddleware):
    """CSRF for cookie sessions (the admin, the console), not for /api/ and /hooks/.

    Those take a bearer token or a provider's signature and never read the session cookie, so a
    forged cross-site request carries nothing they trust; checking them only turned unknown
    routes into Django's HTML 403 page.
    """

    def process_view(self, request, callback, callback_args, callback_kwargs):
        """Skip the check on API paths; everything else is checked as Django does."""
        if is_api_path(request.path_info):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)
