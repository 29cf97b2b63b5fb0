"""Plain Django views: health, and the envelope for routes and errors outside DRF."""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from .errors import TernError
from .middleware import error_response, is_api_path
from .selectors import heartbeat_states

logger = logging.getLogger("tern.health")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.exception("health: database check failed")
        return False


def _broker_ok() -> bool:
    from celery import current_app

    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.exception("health: broker check failed")
        return False


@require_GET
def healthz(request):
    """Database, broker, worker and scheduler; 503 when the database or broker is down."""
    database, broker = _database_ok(), _broker_ok()
    body = {"database": "ok" if database else "down", "broker": "ok" if broker else "down"}
    body.update(heartbeat_states() if database else {"worker": "stale", "scheduler": "stale"})
    return JsonResponse(body, status=200 if database and broker else 503)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Unknown API routes answer the envelope, even with DEBUG on."""
    return error_response(TernError("not_found", "There is no such route."))


def page_not_found(request, exception=None):
    """handler404: the envelope under /api/ and /hooks/, the site's 404 page elsewhere."""
    if is_api_path(request.path):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """handler400: the envelope under /api/ and /hooks/, Django's page elsewhere."""
    if is_api_path(request.path_info):
        return error_response(TernError("validation_error", "The request could not be read."))
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    """handler403: the envelope under /api/ and /hooks/, Django's page elsewhere."""
    if is_api_path(request.path_info):
        return error_response(TernError("forbidden"))
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: API paths are exempt; should one fail, it still answers the envelope."""
    if is_api_path(request.path_info):
        return error_response(TernError("forbidden", details={"reason": "csrf"}))
    return csrf.csrf_failure(request, reason)


def server_error(request):
    """handler500: the envelope under /api/ and /hooks/, the site's 500 page elsewhere."""
    if is_api_path(request.path):
        from .middleware import current_request_id

        return error_response(
            TernError("internal_error", details={"request_id": current_request_id()})
        )
    return defaults.server_error(request)
