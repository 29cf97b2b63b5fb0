"""What the list pages share: the API's cursor pages, and whole days as the API's date filters."""

from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from rest_framework.request import Request

from workspaces.api.pagination import NewestFirstCursorPagination


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
