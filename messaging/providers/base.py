"""The interface every provider implements, and the results it speaks in."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import wraps

from django.conf import settings

from ..provider_log import exchanges_for, log_unanswered


@dataclass(frozen=True)
class OutboundSMS:
    """What Tern asks a provider to send."""

    message_id: str
    to: str
    from_: str
    body: str
    status_callback_url: str = ""


@dataclass(frozen=True)
class Accepted:
    """The provider took the message: it is now with the carrier (`sent`)."""

    provider_message_id: str
    raw: dict = field(default_factory=dict)


class SubmissionError(Exception):
    """The provider did not take the message."""

    def __init__(
        self,
        message: str,
        *,
        provider_code: str | None = None,
        retry_after: float | None = None,
        raw: dict | None = None,
    ):
        super().__init__(message)
        self.provider_code = provider_code
        self.retry_after = retry_after
        self.raw = raw or {}


class TransientSubmissionError(SubmissionError):
    """429, 5xx, a timeout or a broken connection: try again later."""


class RejectedSubmission(SubmissionError):
    """The provider refused the message for good (its error code says why)."""


class SubmissionOutcomeUnknown(SubmissionError):
    """The call may or may not have reached the provider (e.g. a read timeout after sending)."""


@dataclass(frozen=True)
class StatusReport:
    """A provider's report on a message: `sent`, `delivered`, `undelivered` or `failed`."""

    provider: str
    provider_message_id: str
    status: str
    error_code: str | None = None
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LookupResult:
    """What the provider knows of a submission made under Tern's message id."""

    found: bool
    provider_message_id: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class InboundSMS:
    """A message a handset sent to one of our senders."""

    provider: str
    provider_message_id: str
    from_: str
    to: str
    body: str
    raw: dict = field(default_factory=dict)


def _logged_send(send):
    """`send` with its exchanges filed under the message (CONTRACT §13's provider log)."""

    @wraps(send)
    def logged(self, sms: OutboundSMS) -> Accepted:
        with exchanges_for(message_id=sms.message_id, provider=self.name, secrets=self.secrets()):
            try:
                return send(self, sms)
            except SubmissionError as exc:
                if exc.__cause__ is not None:
                    log_unanswered(exc.__cause__)
                raise

    return logged


class Provider(ABC):
    """One way of getting SMS to carriers: a package registered by name in SMS_PROVIDERS.

    Every subclass's `send` is wrapped so the provider log sees its calls: a provider that talks
    HTTP through `provider_log.logged_session` (or calls `provider_log.exchange_record`) is
    logged, redacted, with nothing more to do. A provider reports what became of a message by
    handing a StatusReport to `messaging.actions.reports.status_report_apply` (and an
    InboundSMS to `messaging.actions.inbound.inbound_receive`), from the callback views of its
    `callback_urls` module, mounted at /hooks/<name>/, or from its own code.
    """

    name: str = ""
    # The URLconf module of its callbacks, mounted at /hooks/<name>/ ("" for none).
    callback_urls: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "send" in cls.__dict__:
            cls.send = _logged_send(cls.__dict__["send"])

    def secrets(self) -> list[str]:
        """Values that must never appear in the provider log (e.g. an auth token)."""
        return []

    @abstractmethod
    def send(self, sms: OutboundSMS) -> Accepted:
        """Submit one message; raise a SubmissionError subclass when it was not taken."""

    def lookup(self, message_id: str) -> LookupResult | None:
        """Find a submission by Tern's message id; None when the provider cannot tell."""
        return None

    def status_callback_url(self) -> str:
        """Where the provider should post status reports (PUBLIC_BASE_URL + its status hook)."""
        return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/hooks/{self.name}/status"

    def sweep(self) -> int:
        """Its own periodic work, run by the messaging sweep (beat); how many things it did."""
        return 0

    def ready(self) -> None:
        """Plug into the apps once they are loaded (e.g. a purge of its own records)."""
        return None
