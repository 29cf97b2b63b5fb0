"""Provider exchanges (CONTRACT §13): each request, response and callback, secrets redacted.

Providers need do nothing to be logged: `Provider` wraps every `send` so the exchanges of the
call are filed under its message, `logged_session` hooks a `requests` session, and callback
views call `callback_record`. Every value goes through `redact` first; a failure to log is
logged and never fails a send or a callback.
"""

import json
import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from workspaces import clock

from .models import Message
from .records import ProviderExchange

logger = logging.getLogger("tern.providers")

BODY_LIMIT = 8 * 1024  # characters of a body kept
REDACTED = "[redacted]"
# A header, form field, JSON key or query parameter whose name holds one of these is a secret.
_SECRET_NAME = re.compile(
    r"authori[sz]ation|signature|secret|password|passwd|token|api[-_]?key|cookie|credential",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Redacted:
    """An exchange's URL, headers and body with every secret replaced by `[redacted]`."""

    url: str
    headers: dict
    body: str


def redact(*, url: str = "", headers=None, body="", secrets=()) -> Redacted:
    """The one redaction: secret headers, fields, keys and URL credentials, and known values."""
    values = [s for s in secrets if s and len(s) >= 4]
    return Redacted(
        url=_scrub(_redact_url(url or ""), values),
        headers={
            str(k): REDACTED if _SECRET_NAME.search(str(k)) else _scrub(str(v), values)
            for k, v in dict(headers or {}).items()
        },
        body=_scrub(_redact_body(_text(body)), values)[:BODY_LIMIT],
    )


def _text(body) -> str:
    if isinstance(body, bytes | bytearray):
        return bytes(body[: BODY_LIMIT * 4]).decode("utf-8", errors="replace")
    return "" if body is None else str(body)


def _scrub(text: str, values: list[str]) -> str:
    """Known secret values (e.g. the account's auth token) wherever they appear."""
    for value in values:
        for form in {value, urlencode({"": value})[1:]}:
            text = text.replace(form, REDACTED)
    return text


def _redact_url(url: str) -> str:
    """Credentials in the authority and secret query parameters."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = _redact_form(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_form(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(k, REDACTED if _SECRET_NAME.search(k) else v) for k, v in pairs])


def _redact_json(value):
    if isinstance(value, dict):
        return {
            k: REDACTED if _SECRET_NAME.search(str(k)) else _redact_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def _redact_body(text: str) -> str:
    """A JSON body's secret keys, or a form body's secret fields; other text as it is."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.dumps(_redact_json(json.loads(stripped)), ensure_ascii=False)
        except ValueError:
            return text
    if stripped and "=" in stripped and not any(c.isspace() for c in stripped):
        return _redact_form(stripped)
    return text


@dataclass(frozen=True)
class _Call:
    message_id: str
    provider: str
    secrets: tuple


_current: ContextVar[_Call | None] = ContextVar("tern_provider_call", default=None)


@contextmanager
def exchanges_for(*, message_id: str, provider: str, secrets=()):
    """File the exchanges made inside this block under `message_id`."""
    token = _current.set(_Call(message_id, provider, tuple(secrets)))
    try:
        yield
    finally:
        _current.reset(token)


def exchange_record(
    *,
    kind: str,
    method: str = "",
    url: str = "",
    status_code=None,
    headers=None,
    body="",
    at: datetime | None = None,
) -> None:
    """Log one exchange of the call in progress (outside one, nothing is logged)."""
    call = _current.get()
    if call is None:
        return
    _store(
        call.message_id,
        call.provider,
        call.secrets,
        [(kind, method, url, status_code, headers, body, at)],
    )


def _store(message_id: str, provider: str, secrets, exchanges: list) -> None:
    """One INSERT for the exchanges; a failure is logged, never raised into a send."""
    try:
        workspace_id = (
            Message.objects.filter(pk=message_id).values_list("workspace_id", flat=True).first()
        )
        if workspace_id is None:
            return
        rows = []
        for kind, method, url, status_code, headers, body, at in exchanges:
            clean = redact(url=url, headers=headers, body=body, secrets=secrets)
            rows.append(
                ProviderExchange(
                    workspace_id=workspace_id,
                    message_id=message_id,
                    provider=provider,
                    at=at or clock.now(),
                    kind=kind,
                    method=method[:10],
                    url=clean.url,
                    status_code=status_code,
                    headers=clean.headers,
                    body=clean.body,
                )
            )
        ProviderExchange.objects.bulk_create(rows)
    except Exception:
        logger.exception("could not log a provider exchange of %s", message_id)


def _log_response(response, *args, **kwargs):
    """A `requests` response hook: our request and the provider's answer, under the call."""
    call = _current.get()
    if call is None:
        return response
    sent, now = response.request, clock.now()
    elapsed = getattr(response, "elapsed", None) or timedelta(0)
    method, url = sent.method or "", sent.url or ""
    answer = response.content[: BODY_LIMIT * 4]
    request_row = ("request", method, url, None, sent.headers, sent.body, now - elapsed)
    response_row = ("response", method, url, response.status_code, response.headers, answer, now)
    _store(call.message_id, call.provider, call.secrets, [request_row, response_row])
    return response


def log_unanswered(exc: BaseException) -> None:
    """A call that got no answer: keep the request `requests` prepared, if there was one."""
    sent = getattr(exc, "request", None)
    if sent is not None and getattr(sent, "method", None):
        exchange_record(
            kind="request",
            method=sent.method,
            url=sent.url or "",
            headers=sent.headers,
            body=sent.body,
        )


def logged_session(session):
    """Hook a `requests` session so every call made through it is logged."""
    session.hooks["response"].append(_log_response)
    return session


def callback_record(
    request, *, provider: str, provider_message_id: str, status_code: int, secrets=()
) -> None:
    """Log a provider's (verified) callback under the message it is about, if Tern has it."""
    try:
        found = (
            Message.objects.filter(provider=provider, provider_message_id=provider_message_id)
            .values_list("id", flat=True)
            .first()
        )
        body = request.body
    except Exception:
        logger.exception("could not log a %s callback", provider)
        return
    if found is None:
        return
    url = request.build_absolute_uri()
    row = ("callback", request.method, url, status_code, dict(request.headers), body, None)
    _store(found, provider, secrets, [row])


def provider_log_list(*, message) -> list[ProviderExchange]:
    """A message's exchanges, oldest first."""
    return list(
        ProviderExchange.objects.for_workspace(message.workspace_id)
        .filter(message_id=message.id)
        .order_by("at", "id")
    )
