"""Finding a workspace's messages as a person asks (CONTRACT §12): a number, an id, or text.

Each branch has its index: a message id is the primary key, a number `msg_ws_to` / `msg_ws_from`,
text the trigram index `msg_body_trgm` on PostgreSQL (`UPPER(body) LIKE`, the SQL Django writes
for `icontains`; SQLite scans with LIKE), an error code `msg_ws_error`.
"""

import re

from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.lookups import Exact

from workspaces.phones import to_e164

MESSAGE_ID = re.compile(r"^msg_[0-9a-z]{26}$")
# Something typed as a phone number: digits with the usual punctuation, a `+` in front at most.
NUMBER_LIKE = re.compile(r"^\+?[0-9(][0-9 ().-]{2,24}$")
SHORT_CODE = re.compile(r"^[0-9]{3,8}$")


def number_of(text: str, default_country: str | None = None) -> str | None:
    """The number as stored (E.164, or a short code as typed), or None when it is not one."""
    if not NUMBER_LIKE.match(text):
        return None
    if SHORT_CODE.match(text):
        return text
    return to_e164(text, default_country)


def message_search(queryset: QuerySet, *, text: str, default_country: str | None = None):
    """The messages matching a message id, a number (to or from), or else text in the body."""
    text = (text or "").strip()
    if not text:
        return queryset
    if MESSAGE_ID.match(text.lower()):
        return queryset.filter(pk=text.lower())
    number = number_of(text, default_country)
    if number:
        return queryset.filter(Q(to_number=number) | Q(from_number=number))
    return queryset.filter(body__icontains=text)


def message_with_error(queryset: QuerySet, *, code: str):
    """The messages whose error has this catalogue code (through `msg_ws_error`)."""
    # A plain `=` on `error ->> 'code'` (the index's expression), not JSON's own comparison.
    code_is = Exact(KT("error__code"), Value(code, output_field=TextField()))
    return queryset.filter(error__isnull=False).filter(code_is)
