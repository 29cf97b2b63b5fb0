"""What one catalogue entry holds, and the retry and delivery classes entries name."""

from dataclasses import dataclass, field

RETRY_WITH_BACKOFF = "retry_with_backoff"
RETRY_AFTER_FIX = "retry_after_fix"
RETRY_AFTER_VERIFICATION = "retry_after_verification"
RETRY_AFTER_SPEND_AVAILABLE = "retry_after_spend_available"
DO_NOT_RETRY = "do_not_retry"

# What Tern does after a delivery failure of this kind (CONTRACT §3, delivery table).
CLASS_RETRY = "retry"
CLASS_SUPPRESS = "suppress"
CLASS_REVIEW = "review"


@dataclass(frozen=True)
class ErrorSpec:
    """One catalogue entry."""

    code: str
    http_status: int | None  # None: recorded (on `recorded_on`), never an HTTP answer
    message: str
    fix: str
    retry: str
    when: str
    provider_codes: tuple[str, ...] = field(default=())
    delivery_class: str | None = None
    recorded_on: str = "message"  # where a code without an HTTP status is recorded
