"""The one JSON reader of /api/ and /hooks/: what it accepts can be stored and rendered anywhere.

Refused with 400 `validation_error`, naming where in the body: bytes that are not UTF-8, lone
UTF-16 surrogates (`"\\ud800"`, in strings and in object keys), NUL characters (`"\\u0000"`),
numbers that are not finite (`NaN`, `Infinity`, `1e999`), integers beyond 64 bits, and arrays or
objects nested more than `MAX_JSON_DEPTH` levels deep.
"""

import json
import math

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from ..errors import TernError
from ..jsonsafe import LONE_SURROGATE, scrub

MAX_JSON_DEPTH = 32  # levels of arrays/objects; the README documents it
MAX_JSON_INT = 2**63 - 1


def _refused(reason: str) -> TernError:
    return TernError(
        "validation_error", f"The JSON body was refused: {reason}", details={"body": [reason]}
    )


def _where(path: str, key) -> str:
    """A JSONPath-like location; keys are shown escaped (they may be the bad part)."""
    label = key if isinstance(key, int) else json.dumps(str(key)[:40])
    return f"{path}[{label}]"


def _non_finite(token: str):
    raise _refused(f"`{token}` is not a JSON number; numbers must be finite.")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _refused(f"the number `{token[:40]}` is out of range; numbers must be finite.")
    return value


def _bounded_int(token: str) -> int:
    if len(token.lstrip("-")) > 19 or abs(value := int(token)) > MAX_JSON_INT:
        raise _refused(f"the integer `{token[:40]}` does not fit in 64 bits.")
    return value


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise _refused(f"{where} holds a NUL character (\\u0000), which Tern does not store.")
    if LONE_SURROGATE.search(text):
        raise _refused(
            f"{where} holds a lone UTF-16 surrogate (\\ud800–\\udfff without its pair); "
            "send text as valid Unicode."
        )


def check_value(value) -> None:
    """Raise `validation_error` for NUL, lone surrogates or nesting past MAX_JSON_DEPTH."""
    stack = [(value, 0, "$")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            _check_text(item, f"the string at {path}")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _refused(f"arrays and objects nest at most {MAX_JSON_DEPTH} levels deep.")
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in pairs:
            if isinstance(key, str):
                _check_text(key, f"the key {_where(path, key)}")
            stack.append((child, depth + 1, _where(path, key)))


def load_json(raw: bytes):
    """Bytes of a request body as a JSON value, or `validation_error` saying what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refused(f"the body is not valid UTF-8 (bad byte at offset {exc.start}).") from exc
    try:
        value = json.loads(
            text, parse_constant=_non_finite, parse_float=_finite_float, parse_int=_bounded_int
        )
    except RecursionError as exc:
        raise _refused(f"arrays and objects nest at most {MAX_JSON_DEPTH} levels deep.") from exc
    except ValueError as exc:
        raise _refused(f"the body is not valid JSON ({scrub(str(exc))}).") from exc
    check_value(value)
    return value


class TernJSONParser(JSONParser):
    """DRF's parser for `application/json`, through `load_json`."""

    def parse(self, stream, media_type=None, parser_context=None):
        """The whole body, read once and checked."""
        return load_json(stream.read() if stream is not None else b"")


class TernJSONRenderer(JSONRenderer):
    """Never fails on a stored value: lone surrogates become U+FFFD, NaN/Infinity null."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        """Rendered as is when possible; a value UTF-8 or strict JSON cannot carry is scrubbed."""
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except (UnicodeEncodeError, ValueError):
            return super().render(scrub(data), accepted_media_type, renderer_context)
