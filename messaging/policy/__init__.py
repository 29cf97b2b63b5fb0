"""The send policy: every verdict of CONTRACT §3, written once.

- `rules`: the verdicts that need no database, pure functions returning a `Refusal` or None.
- `checks`: one send judged alone, in §3's order (the API, batches, console, resends).
- `audience`: a campaign's whole audience judged at once, the same verdicts set-based
  (suppressions and consent in one SQL statement), for the fan-out.

`duplicate_message` and `spend_limit_exceeded` are decided atomically where the send is written.
"""

from .audience import Audience, AudienceVerdicts, audience_verdicts, campaign_sender
from .checks import CHECKS, Lookups, SendDraft, evaluate
from .rules import MAX_SEGMENTS, PLATFORM_BLOCKED_TERMS, Refusal, blocked_terms_in

__all__ = [
    "CHECKS",
    "MAX_SEGMENTS",
    "PLATFORM_BLOCKED_TERMS",
    "Audience",
    "AudienceVerdicts",
    "Lookups",
    "Refusal",
    "SendDraft",
    "audience_verdicts",
    "blocked_terms_in",
    "campaign_sender",
    "evaluate",
]
