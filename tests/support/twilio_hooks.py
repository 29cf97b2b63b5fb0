"""What Twilio sends to Tern's hooks: its status and inbound forms, signed as Twilio signs them
(X-Twilio-Signature over the public URL), for the callback tests of any app."""

from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

TOKEN = "twilio-auth-token-for-tests"
BASE = "https://tern.example.com"
STATUS, INBOUND = "/hooks/twilio/status", "/hooks/twilio/inbound"


def sign(url: str, params: dict, token: str = TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it."""
    return RequestValidator(token).compute_signature(url, params)


def post(client, target: str, params: dict, signature: str | None):
    """POST Twilio's urlencoded form, with the signature header when given."""
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    body = urlencode(params)
    return client.post(
        target, body, content_type="application/x-www-form-urlencoded", headers=headers
    )


def signed_post(client, target: str, params: dict):
    """POST with a valid signature over BASE + target."""
    return post(client, target, params, sign(BASE + target, params))


def report(sid: str, status: str, **extra) -> dict:
    """Twilio's status callback form."""
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": "+14155550199",
        "To": "+14155550100",
        "ApiVersion": "2010-04-01",
    }
    return form | extra
