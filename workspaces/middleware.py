"""Request ids on every response and log line; the body-size guard for the API."""

import logging
import re
import threading
import uuid

from django.conf import settings
from django.http import JsonResponse

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
