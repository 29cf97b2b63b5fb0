"""The one error catalogue (CONTRACT §3): every code Tern answers or records, with its fix.

API errors are raised as `TernError(code, ...)` and rendered as the envelope by one exception
handler; delivery failures on a message are recorded with the same codes, and so are the rows a
contact import refuses (`import_rows`, on the import's report). The README's error page
is generated from `CATALOGUE` (`python manage.py error_catalogue --markdown`).
"""

from .import_rows import IMPORT_ROW_ENTRIES
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

_ENTRIES = [
    ErrorSpec(
        "unauthorized",
        401,
        "The API token is missing, malformed, revoked or expired.",
        "Send `Authorization: Bearer <token>` with a live token of this workspace; mint a new one if it was revoked or has expired.",
        RETRY_AFTER_FIX,
        "token missing, invalid, revoked or expired",
    ),
    ErrorSpec(
        "forbidden",
        403,
        "This token may not do that.",
        "Use a token whose scopes include `details.required_scope`, created by a member whose role allows it.",
        RETRY_AFTER_FIX,
        "scope or role missing",
    ),
    ErrorSpec(
        "invalid_signature",
        403,
        "The callback's signature does not match its content.",
        "Check that the provider signs with the auth token Tern holds and calls the exact URL built from PUBLIC_BASE_URL.",
        DO_NOT_RETRY,
        "a provider callback whose signature does not verify",
    ),
    ErrorSpec(
        "not_found",
        404,
        "There is no such object in this workspace.",
        "Check the id and that the token belongs to the workspace (and mode) that owns the object.",
        DO_NOT_RETRY,
        "no such object in this workspace, or an unknown route",
    ),
    ErrorSpec(
        "method_not_allowed",
        405,
        "This route does not accept that HTTP method.",
        "See /api/docs/ for the methods each route takes.",
        RETRY_AFTER_FIX,
        "wrong HTTP method",
    ),
    ErrorSpec(
        "unsupported_media_type",
        415,
        "The request body is not in a format this route reads.",
        "Send JSON with `Content-Type: application/json` (file uploads: multipart/form-data).",
        RETRY_AFTER_FIX,
        "wrong Content-Type",
    ),
    ErrorSpec(
        "payload_too_large",
        413,
        "The request body is larger than Tern accepts.",
        "Split the request: batches take at most 1,000 messages.",
        RETRY_AFTER_FIX,
        "request body over the size limit",
    ),
    ErrorSpec(
        "validation_error",
        400,
        "The request is malformed.",
        "Correct the fields named in `details`; each lists what is wrong with it.",
        RETRY_AFTER_FIX,
        "malformed request; `details` maps field to messages",
    ),
    ErrorSpec(
        "invalid_number",
        400,
        "The recipient is not a valid phone number.",
        "Send the number in E.164 form (+14155550100), or set the workspace's default_country for national numbers.",
        RETRY_AFTER_FIX,
        "`to` is not a valid number after applying default_country (and an import row whose phone is not, on the import report)",
    ),
    ErrorSpec(
        "same_to_from",
        422,
        "The recipient is the sending number itself.",
        "Send to a different number than `from`.",
        DO_NOT_RETRY,
        "`to` equals `from`",
    ),
    ErrorSpec(
        "sender_not_sms_capable",
        422,
        "The `from` number is not an SMS-capable sender of this workspace.",
        "Use one of the workspace's SMS-capable senders (GET /api/v1/senders), or omit `from` to use the default sender.",
        RETRY_AFTER_FIX,
        "`from` is not an SMS-capable sender of this workspace",
    ),
    ErrorSpec(
        "toll_free_not_verified",
        422,
        "The toll-free sender has not completed verification.",
        "Finish toll-free verification for this number, or send from a verified sender meanwhile.",
        RETRY_AFTER_VERIFICATION,
        "`from` is an unverified toll-free number; delivery code 30032",
        provider_codes=("30032",),
        delivery_class=CLASS_REVIEW,
    ),
    ErrorSpec(
        "unsupported_region",
        422,
        "This workspace may not send to the recipient's country from this sender.",
        "Add the country to the workspace's allowed_countries, or send from a long code or toll-free number (short codes stay domestic).",
        RETRY_AFTER_FIX,
        "destination country not allowed, or a short code sending abroad",
    ),
    ErrorSpec(
        "recipient_not_verified",
        422,
        "Test tokens and test-mode workspaces send only to verified recipients.",
        "Add the number to the workspace's verified_recipients, or use a live token of a workspace out of test mode.",
        RETRY_AFTER_VERIFICATION,
        "test token or test-mode workspace, recipient not verified",
    ),
    ErrorSpec(
        "workspace_suppressed",
        422,
        "The recipient has opted out of or is suppressed for this workspace.",
        "Do not message this number unless it opts in again (the recipient texts START) or a suppression is removed for a recorded reason.",
        DO_NOT_RETRY,
        "recipient has an active workspace suppression",
    ),
    ErrorSpec(
        "campaign_suppressed",
        422,
        "The recipient opted out of this campaign.",
        "Leave this number out of the campaign's audience.",
        DO_NOT_RETRY,
        "recipient opted out of this campaign",
    ),
    ErrorSpec(
        "consent_required",
        422,
        "Marketing messages need the recipient's active marketing consent.",
        "Record the recipient's consent (POST /api/v1/consents) before sending marketing, or send transactional content only.",
        RETRY_AFTER_FIX,
        "`category: marketing` and no active marketing consent",
    ),
    ErrorSpec(
        "content_blocked",
        422,
        "The body contains a term this platform or workspace does not allow.",
        "Remove the terms listed in `details.terms` and send again.",
        RETRY_AFTER_FIX,
        "a blocked term (platform list + workspace blocked_terms); `details.terms`",
    ),
    ErrorSpec(
        "message_too_long",
        422,
        "The body needs more than 10 SMS segments.",
        "Shorten the body, or avoid characters outside GSM-7 (they cut a segment from 153 to 67 characters).",
        RETRY_AFTER_FIX,
        "more than 10 segments",
    ),
    ErrorSpec(
        "duplicate_message",
        409,
        "The same body went to this recipient moments ago.",
        "Wait for the workspace's duplicate window to pass, change the body, or use an Idempotency-Key to retry safely.",
        DO_NOT_RETRY,
        "same mode, `to` and body within the duplicate window",
    ),
    ErrorSpec(
        "idempotency_conflict",
        409,
        "This Idempotency-Key was used for a different request, or its first request is still running.",
        "Use a new key for a new request; for the same request wait a moment and retry with the same key.",
        RETRY_WITH_BACKOFF,
        "same Idempotency-Key with another request, or the first still in flight",
    ),
    ErrorSpec(
        "invalid_state",
        409,
        "That action does not apply to the object in its current state.",
        "Read the object again and check its status before acting.",
        DO_NOT_RETRY,
        "the action does not apply in the object's state",
    ),
    ErrorSpec(
        "sender_in_use",
        409,
        "That number already belongs to a workspace.",
        "Use a number that is not registered anywhere else on Tern.",
        DO_NOT_RETRY,
        "the number belongs to another workspace",
    ),
    ErrorSpec(
        "spend_limit_exceeded",
        402,
        "Sending this would take the month's spend past the workspace's limit.",
        "Raise the workspace's spend_limit, or wait for the next UTC month.",
        RETRY_AFTER_SPEND_AVAILABLE,
        "the price would take this UTC month past the spend limit",
    ),
    ErrorSpec(
        "rate_limited",
        429,
        "This workspace is sending requests faster than its rate limit.",
        "Wait for the seconds in Retry-After, then retry; spread requests evenly or use the batch endpoint.",
        RETRY_WITH_BACKOFF,
        "workspace rate limit",
    ),
    ErrorSpec(
        "internal_error",
        500,
        "Something went wrong inside Tern.",
        "Retry with backoff; if it persists, contact support with the X-Request-Id.",
        RETRY_WITH_BACKOFF,
        "anything unexpected (logged with the request id)",
    ),
    # Delivery failures, recorded on messages (CONTRACT §3, second table).
    ErrorSpec(
        "provider_unavailable",
        None,
        "The carrier gateway could not take the message, even after retries.",
        "Send the message again later; Tern already retried it on its schedule.",
        RETRY_WITH_BACKOFF,
        "429, 5xx, timeouts or connection errors after the submission retries",
        provider_codes=("429", "5xx"),
        delivery_class=CLASS_RETRY,
    ),
    ErrorSpec(
        "unreachable_handset",
        None,
        "The handset could not be reached (off, out of coverage, or roaming).",
        "Try again later; Tern does not resend on its own.",
        RETRY_WITH_BACKOFF,
        "carrier code 30003",
        provider_codes=("30003",),
        delivery_class=CLASS_RETRY,
    ),
    ErrorSpec(
        "unknown_delivery_error",
        None,
        "The carrier reported a failure without saying why.",
        "Try again later; if it keeps failing for this number, check the number with the recipient.",
        RETRY_WITH_BACKOFF,
        "carrier codes 30008, 30410",
        provider_codes=("30008", "30410"),
        delivery_class=CLASS_RETRY,
    ),
    ErrorSpec(
        "unknown_number",
        None,
        "The number does not exist or is no longer in service.",
        "Ask the recipient for a current number; Tern has suppressed this one.",
        DO_NOT_RETRY,
        "carrier codes 30005, 21211",
        provider_codes=("30005", "21211"),
        delivery_class=CLASS_SUPPRESS,
    ),
    ErrorSpec(
        "landline_or_unreachable_carrier",
        None,
        "The number is a landline or its carrier cannot take SMS.",
        "Reach this recipient another way; Tern has suppressed the number for SMS.",
        DO_NOT_RETRY,
        "carrier codes 30006, 21614",
        provider_codes=("30006", "21614"),
        delivery_class=CLASS_SUPPRESS,
    ),
    ErrorSpec(
        "carrier_opted_out",
        None,
        "The recipient has blocked messages from this sender at the carrier.",
        "Do not message this number until it opts in again; Tern has suppressed it.",
        DO_NOT_RETRY,
        "carrier code 21610",
        provider_codes=("21610",),
        delivery_class=CLASS_SUPPRESS,
    ),
    ErrorSpec(
        "carrier_filtered",
        None,
        "The carrier filtered the message as unwanted content.",
        "Review the content and sender registration; staff review the message before anything is resent.",
        RETRY_AFTER_FIX,
        "carrier code 30007",
        provider_codes=("30007",),
        delivery_class=CLASS_REVIEW,
    ),
    ErrorSpec(
        "provider_rejected",
        None,
        "The provider or carrier refused the message; `provider_code` says why.",
        "Read `provider_code` in the provider's error reference and fix the cause (e.g. the "
        "sender's permissions for the region, or the sender-recipient pair); staff review the "
        "message, and Tern does not send it again by itself.",
        DO_NOT_RETRY,
        "any other provider code (e.g. 21408, 21606, 21612, 30011, 21266)",
        provider_codes=("21266", "21408", "21606", "21612", "30011"),
        delivery_class=CLASS_REVIEW,
    ),
    ErrorSpec(
        "unknown_outcome",
        None,
        "The send was interrupted and the provider cannot confirm whether it went out.",
        "Staff review the message; it is never resent blindly, to avoid a double send.",
        DO_NOT_RETRY,
        "a send interrupted mid-call that the provider cannot confirm",
        delivery_class=CLASS_REVIEW,
    ),
    # Recorded on messages by campaigns.
    ErrorSpec(
        "stopped_by_user",
        None,
        "The campaign was stopped before this message went out.",
        "Nothing to fix; launch a new campaign to reach these recipients.",
        DO_NOT_RETRY,
        "a campaign's unsent message when the campaign is stopped",
    ),
    ErrorSpec(
        "missing_merge_field",
        422,
        "The template needs a field this contact does not have.",
        "Fill the contact's field, or give the merge field a default (`{{first_name|there}}`).",
        RETRY_AFTER_FIX,
        "a campaign recipient lacking a merge field without default",
    ),
    # Recorded on a contact import's report, one per refused row.
    *IMPORT_ROW_ENTRIES,
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
