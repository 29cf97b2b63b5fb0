"""The one error catalogue (CONTRACT §3): every code Tern answers or records, with its fix.

API errors are raised as `TernError(code, ...)` and rendered as the envelope by one exception
handler; delivery failures on a message are recorded with the same codes, and so are the rows a
contact import refuses (`import_rows`, on the import's report). The README's error page
is generated from `CATALOGUE` (`python manage.py error_catalogue`).
"""

from .entries import ENTRIES as _ENTRIES
from .spec import (
    CLASS_RETRY,
    CLASS_REVIEW,
    CLASS_SUPPRESS,
    DO_NOT_RETRY,
    RETRY_AFTER_FIX,
    RETRY_AFTER_SPEND_AVAILABLE,
    RETRY_AFTER_VERIFICATION,
    RETRY_WITH_BACKOFF,
    ErrorSpec,
)

__all__ = [
    "CATALOGUE",
    "CLASS_RETRY",
    "CLASS_REVIEW",
    "CLASS_SUPPRESS",
    "DO_NOT_RETRY",
    "RETRY_AFTER_FIX",
    "RETRY_AFTER_SPEND_AVAILABLE",
    "RETRY_AFTER_VERIFICATION",
    "RETRY_WITH_BACKOFF",
    "ErrorSpec",
    "TernError",
    "catalogue_markdown",
    "delivery_error",
    "delivery_error_for",
    "spec",
]


CATALOGUE: dict[str, ErrorSpec] = {entry.code: entry for entry in _ENTRIES}
_BY_PROVIDER_CODE = {pc: e for e in _ENTRIES if e.delivery_class for pc in e.provider_codes}


def spec(code: str) -> ErrorSpec:
    """The catalogue entry for a code (KeyError for a code that is not in it)."""
    return CATALOGUE[code]


def delivery_error_for(provider_code: str | int | None, *, refused: bool = False) -> ErrorSpec:
    """The delivery failure a provider's error code maps to (CONTRACT §3's delivery table).

    A code outside the table is `provider_rejected` (review, never retried): guessing "transient"
    for a code we do not know would invite resends the provider will refuse again. HTTP 429 and
    5xx are the provider being unavailable. A failure reported with no code at all is
    `unknown_delivery_error` (the carrier said it failed, not why) unless the provider `refused`
    the submission itself, which is a rejection.
    """
    code = "" if provider_code is None else str(provider_code).strip()
    if not code:
        return CATALOGUE["provider_rejected" if refused else "unknown_delivery_error"]
    if code in _BY_PROVIDER_CODE:
        return _BY_PROVIDER_CODE[code]
    if code == "429" or (len(code) == 3 and code.startswith("5") and code.isdigit()):
        return CATALOGUE["provider_unavailable"]
    return CATALOGUE["provider_rejected"]


class TernError(Exception):
    """An error from the catalogue, raised anywhere and rendered as the envelope."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        details: dict | None = None,
        headers: dict | None = None,
    ):
        self.spec = spec(code)
        self.code = code
        self.message = message or self.spec.message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    @property
    def http_status(self) -> int:
        """The HTTP status this error answers with."""
        return self.spec.http_status

    def envelope(self) -> dict:
        """The body CONTRACT §3 fixes: {"error": {code, message, fix, retry, details}}."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "fix": self.spec.fix,
                "retry": self.spec.retry,
                "details": self.details,
            }
        }


def delivery_error(code: str, provider_code: str | None = None, message: str | None = None) -> dict:
    """The `error` object stored on a message for a delivery failure."""
    entry = spec(code)
    return {
        "code": code,
        "message": message or entry.message,
        "fix": entry.fix,
        "retry": entry.retry,
        "provider_code": provider_code,
    }


def catalogue_markdown() -> str:
    """The README's error page, generated from the catalogue."""
    lines = ["| code | HTTP | retry | when | what to do |", "| --- | --- | --- | --- | --- |"]
    for e in _ENTRIES:
        when = e.when + (f" (class: {e.delivery_class})" if e.delivery_class else "")
        status = e.http_status or f"— (on the {e.recorded_on})"
        lines.append(f"| `{e.code}` | {status} | `{e.retry}` | {when} | {e.fix} |")
    return "\n".join(lines) + "\n"
