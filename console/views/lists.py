"""What the console's list pages share with the API: its filter sets, its cursor pages, whole
days as its date filters, and a refused filter as the catalogue's `validation_error`."""

from datetime import datetime, time, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

from rest_framework.request import Request

from workspaces.api.pagination import NewestFirstCursorPagination
from workspaces.errors import TernError


def invalid_filters(form, message: str = "Check the filters.") -> TernError:
    """The catalogue's `validation_error` for a list's GET form that refused its values."""
    details = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
    return TernError("validation_error", message, details=details)


def api_filtered(filterset_class, seat, queryset, data: dict):
    """The API's filter set over these rows with a plain dict; 400-style error when invalid."""
    filterset = filterset_class(
        data, queryset=queryset, request=SimpleNamespace(workspace=seat.workspace)
    )
    if not filterset.is_valid():
        details = filterset.error_details()
        raise TernError("validation_error", "Check the filters.", details=details)
    return filterset.qs


def _relative(url: str | None) -> str | None:
    """A page link as path and query: the page's own host, whatever the proxy said."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def cursor_page(request, queryset, *, size: int = 50) -> tuple[list, str | None, str | None]:
    """(rows, next, previous): the API's newest-first cursor pagination, signed for this page.

    An edited or foreign `?cursor=` raises the API's 400 `validation_error` (a TernError).
    """
    paginator = NewestFirstCursorPagination()
    paginator.page_size = size
    rows = paginator.paginate_queryset(queryset, Request(request))
    return (
        list(rows),
        _relative(paginator.get_next_link()),
        _relative(paginator.get_previous_link()),
    )


def day_range(since, until, zone) -> dict:
    """`created_after` / `created_before` (the API's filter names) for whole days in `zone`."""
    params = {}
    if since:
        params["created_after"] = datetime.combine(since, time.min, zone).isoformat()
    if until:
        start_of_next = datetime.combine(until + timedelta(days=1), time.min, zone)
        params["created_before"] = start_of_next.isoformat()
    return params
