"""Twilio's REST Messages API, spoken over `requests` (CONTRACT §5).

Every answer maps onto the result types of `providers.base`: a taken message is `Accepted`;
429/5xx and failures to connect are transient; a Twilio error code is a rejection; anything that
may have reached Twilio without an answer is an unknown outcome, never to be resent blindly.
"""

import logging
import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError

from ...provider_log import logged_session
from ..base import (
    Accepted,
    OutboundSMS,
    Provider,
    RejectedSubmission,
    SubmissionError,
    SubmissionOutcomeUnknown,
    TransientSubmissionError,
)

logger = logging.getLogger("tern.providers.twilio")

API_VERSION = "2010-04-01"

# Failures raised before a byte of the request could leave: safe to try again later.
# (TLS errors are counted here: in practice they are handshake failures, before the request.)
_NOT_SENT = (
    requests.exceptions.ConnectTimeout,
    requests.exceptions.SSLError,
    requests.exceptions.ProxyError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)


def _build_session() -> requests.Session:
    """One pooled session per process, so sends on any thread reuse keep-alive connections."""
    session = requests.Session()
    # max_retries=0: urllib3 must never resend a POST by itself (at most once per message).
    adapter = HTTPAdapter(pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "tern-twilio/1"
    return logged_session(session)  # every call in the provider log, secrets redacted


SESSION = _build_session()


class TwilioProvider(Provider):
    """Sends through Twilio's Messages API; its reports arrive at /hooks/twilio/status."""

    name = "twilio"
    callback_urls = "messaging.providers.twilio.urls"
    connect_timeout: float = 5.0
    read_timeout: float = 10.0

    def send(self, sms: OutboundSMS) -> Accepted:
        """Submit one message to Twilio and map its answer onto Accepted or a SubmissionError."""
        if not settings.TWILIO_ACCOUNT_SID or not settings.TWILIO_AUTH_TOKEN:
            raise TransientSubmissionError("Twilio credentials are not configured")
        try:
            response = SESSION.post(
                messages_url(),
                data=form_fields(sms),
                auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise _from_exception(exc, sms) from exc
        return _from_response(response, sms)

    def secrets(self) -> list[str]:
        """The auth token never reaches the provider log, wherever it would appear."""
        return [settings.TWILIO_AUTH_TOKEN]

    def lookup(self, message_id: str) -> None:
        """Twilio cannot be searched by Tern's message id, so a lost call cannot be reconciled."""
        return None


def messages_url() -> str:
    """The account's Messages resource under TWILIO_API_BASE."""
    base = settings.TWILIO_API_BASE.rstrip("/")
    return f"{base}/{API_VERSION}/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"


def form_fields(sms: OutboundSMS) -> dict:
    """The form Twilio reads: To, From, Body and, when Tern wants reports, StatusCallback."""
    fields = {"To": sms.to, "From": sms.from_, "Body": sms.body}
    if sms.status_callback_url:
        fields["StatusCallback"] = sms.status_callback_url
    return fields


def _from_exception(exc: requests.RequestException, sms: OutboundSMS) -> SubmissionError:
    """A failed call: transient if nothing was sent, else the outcome is unknown."""
    if _nothing_sent(exc):
        logger.warning("twilio: no connection for %s: %s", sms.message_id, type(exc).__name__)
        return TransientSubmissionError(f"Could not connect to Twilio: {type(exc).__name__}")
    logger.warning("twilio: %s interrupted mid-call: %s", sms.message_id, type(exc).__name__)
    return SubmissionOutcomeUnknown(f"Twilio call interrupted: {type(exc).__name__}")


def _nothing_sent(exc: requests.RequestException) -> bool:
    """True when the connection itself failed, so the request never reached Twilio."""
    if isinstance(exc, _NOT_SENT):
        return True
    # With read retries off, urllib3 wraps only connect-phase failures in MaxRetryError; a drop
    # after sending (RemoteDisconnected, reset) arrives as a bare ProtocolError instead.
    cause = exc.args[0] if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(cause, MaxRetryError)


def _from_response(response: requests.Response, sms: OutboundSMS) -> Accepted:
    """Accepted for a 2xx with a sid; raise the SubmissionError the status and body call for."""
    status, body = response.status_code, _json(response)
    if 200 <= status < 300 and isinstance(body.get("sid"), str):
        logger.info("twilio: accepted %s as %s", sms.message_id, body["sid"])
        return Accepted(provider_message_id=body["sid"], raw=body)
    raw = body or {"http_status": status, "text": response.text[:500]}
    detail = body.get("message") or response.reason or "no reason given"
    logger.warning("twilio: %s answered %s (%s)", sms.message_id, status, body.get("code"))
    if 200 <= status < 300:
        # Twilio said yes but gave no sid: the message may be on its way, so never resend it.
        raise SubmissionOutcomeUnknown(
            f"Twilio answered {status} without a message sid", provider_code=str(status), raw=raw
        )
    if status == 429 or status >= 500 or 300 <= status < 400:
        # A redirect means TWILIO_API_BASE points somewhere wrong: fixable, so retry later.
        raise TransientSubmissionError(
            f"Twilio answered {status}: {detail}",
            provider_code=str(status),
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            raw=raw,
        )
    code = body.get("code")
    raise RejectedSubmission(
        f"Twilio refused the message: {detail}", provider_code=str(code or status), raw=raw
    )


def _json(response: requests.Response) -> dict:
    """The body as a JSON object, or {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
