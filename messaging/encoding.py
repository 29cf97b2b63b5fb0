"""GSM-7 / UCS-2 detection and segment splitting of SMS bodies (CONTRACT §4) — pure functions.

The GSM 03.38 tables are data here rather than a runtime dependency; tests/messaging/
test_encoding.py checks them against the `gsm0338` codec, character by character.
"""

from collections.abc import Callable
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_ESCAPE = "\x1b"

# The GSM 03.38 basic table in code order (0x00-0x7F, 16 a row), so it can be read against the spec.
_GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# 0x1B is the escape to the extension table, not a character: a lone ESC in a body would swallow
# the next septet on the handset, so a body containing one goes out as UCS-2.
GSM7_BASIC = frozenset(_GSM7_BASIC_TABLE) - {_ESCAPE}
# Each costs two septets: ESC followed by its code in the extension table.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7_CHARS = GSM7_BASIC | GSM7_EXTENSION
_EXTENSION_CHARS = tuple(GSM7_EXTENSION)

_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}  # (one segment, each of several)


@dataclass(frozen=True)
class EncodedBody:
    """A body's encoding, its size in septets or UTF-16 units, and its per-segment parts."""

    encoding: str
    segments: int
    units: int
    parts: tuple[str, ...]


def _septets(text: str) -> int:
    """GSM-7 septets of text known to be in GSM7_CHARS (extension characters count two)."""
    if GSM7_EXTENSION.isdisjoint(text):
        return len(text)
    return len(text) + sum(map(text.count, _EXTENSION_CHARS))


def _utf16_units(text: str) -> int:
    """UTF-16 code units of text: two for a character outside the BMP, one for a lone surrogate."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _split(body: str, limit: int, units_of: Callable[[str], int]) -> list[str]:
    """Greedy split into parts of at most limit units, never cutting a two-unit character."""
    parts, start, length = [], 0, len(body)
    while start < length:
        end = min(start + limit, length)
        units = units_of(body[start:end])
        # Every character is at least one unit, so only two-unit ones are given back here.
        while units > limit:
            end -= 1
            units -= units_of(body[end])
        parts.append(body[start:end])
        start = end
    return parts


def encoding_of(body: str) -> str:
    """GSM-7 when every character is in the GSM 03.38 basic or extension table, else UCS-2."""
    return GSM7 if GSM7_CHARS.issuperset(body) else UCS2


def encode_body(body: str) -> EncodedBody:
    """Encode and split a body; an empty body is GSM-7, 0 units, 1 segment with parts ("",)."""
    encoding = encoding_of(body)
    units_of = _septets if encoding == GSM7 else _utf16_units
    single, multi = _LIMITS[encoding]
    units = units_of(body)
    parts = (body,) if units <= single else tuple(_split(body, multi, units_of))
    return EncodedBody(encoding=encoding, segments=len(parts), units=units, parts=parts)


def segment_count(body: str) -> int:
    """How many SMS segments the body is sent as (1 for an empty body)."""
    return encode_body(body).segments


def ucs2_characters(body: str) -> list[str]:
    """The body's characters outside GSM-7 (those that make it UCS-2), each once, in order."""
    return list(dict.fromkeys(c for c in body if c not in GSM7_CHARS))
