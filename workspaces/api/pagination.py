"""Cursor pagination, newest first, `?limit=` from 1 to 200 (CONTRACT §0).

A cursor is Tern's own: DRF's position/offset/direction, signed with SECRET_KEY for the list's
path. Anything else in `?cursor=` (another list's cursor, an edited one, one that is not base64)
and a `?limit=` that is not a whole number from 1 to 200 answer 400 `validation_error`.
"""

import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from urllib import parse

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

from ..errors import TernError

MIN_LIMIT, MAX_LIMIT = 1, 200
_DIGITS = re.compile(r"^[0-9]{1,6}$")
_CURSOR_KEYS = frozenset({"o", "r", "p"})
BAD_CURSOR = "Not a cursor Tern made for this list: follow `next` or `previous` as given."


def _bad(param: str, reason: str) -> TernError:
    return TernError("validation_error", f"`{param}`: {reason}", details={param: [reason]})


class NewestFirstCursorPagination(CursorPagination):
    """`{"next", "previous", "results"}`; ordered by creation time, then id, descending."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = MAX_LIMIT
    page_size_query_param = "limit"

    def paginate_queryset(self, queryset, request, view=None):
        """Remember what the cursor is checked against, then page as DRF does."""
        self._path, self._model = request.path, queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        """`?limit=` as given, or 400: never clamped or ignored."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _DIGITS.match(raw) or not MIN_LIMIT <= int(raw) <= MAX_LIMIT:
            raise _bad("limit", f"A whole number from {MIN_LIMIT} to {MAX_LIMIT}.")
        return int(raw)

    def _signer(self) -> signing.Signer:
        return signing.Signer(salt=f"tern.cursor:{self._path}", sep=".")

    def encode_cursor(self, cursor):
        """The URL of a page: DRF's cursor fields, signed for this list."""
        tokens = {}
        if cursor.offset:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        payload = urlsafe_b64encode(parse.urlencode(tokens).encode()).rstrip(b"=").decode()
        return replace_query_param(
            self.base_url, self.cursor_query_param, self._signer().sign(payload)
        )

    def decode_cursor(self, request):
        """The cursor of `?cursor=`, or 400 when Tern did not make it for this list."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            payload = self._signer().unsign(encoded)
            querystring = urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
            tokens = parse.parse_qs(querystring, strict_parsing=bool(querystring))
        except (signing.BadSignature, ValueError) as exc:
            raise _bad("cursor", BAD_CURSOR) from exc
        if set(tokens) - _CURSOR_KEYS or any(len(v) != 1 for v in tokens.values()):
            raise _bad("cursor", BAD_CURSOR)
        offset, reverse = tokens.get("o", ["0"])[0], tokens.get("r", ["0"])[0]
        if (
            not _DIGITS.match(offset)
            or int(offset) > self.offset_cutoff
            or reverse not in ("0", "1")
        ):
            raise _bad("cursor", BAD_CURSOR)
        position = tokens.get("p", [None])[0]
        if position is not None:
            self._check_position(position)
        return Cursor(offset=int(offset), reverse=reverse == "1", position=position)

    def _check_position(self, position: str) -> None:
        """The position must be a value of the ordering field (it goes into a WHERE clause)."""
        name = self.ordering[0].lstrip("-")
        try:
            self._model._meta.get_field(name).to_python(position)
        except (FieldDoesNotExist, ValidationError, ValueError, TypeError) as exc:
            raise _bad("cursor", BAD_CURSOR) from exc
