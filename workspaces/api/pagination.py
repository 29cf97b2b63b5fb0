"""Cursor pagination, newest first, `?limit=` up to 200 (CONTRACT §0)."""

from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    """`{"next", "previous", "results"}`; ordered by creation time, then id, descending."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
