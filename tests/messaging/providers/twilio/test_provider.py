"""The Twilio provider against a real local HTTP server speaking Twilio's Messages API."""

import logging
import re

import pytest

from messaging.providers.base import (
    Accepted,
    OutboundSMS,
    RejectedSubmission,
    SubmissionOutcomeUnknown,
    TransientSubmissionError,
)
from messaging.providers.registry import get_provider
from messaging.providers.twilio.provider import TwilioProvider, retry_after_seconds

from ....support.fake_twilio import (
    Reply,
    closed_port,
    dropped,
    invalid_number,
    rate_limited,
    server_error,
    slow,
)

SMS = OutboundSMS(
    message_id="msg_01test",
    to="+14155550100",
    from_="+14155550199",
    body="Your code is 1234",
    status_callback_url="https://tern.example.com/hooks/twilio/status",
)
SID = re.compile(r"^SM[0-9a-f]{32}$")


def send(sms: OutboundSMS = SMS, **attributes):
    """Send through a fresh provider, with any attributes (e.g. timeouts) overridden."""
    provider = TwilioProvider()
    for name, value in attributes.items():
        setattr(provider, name, value)
    return provider.send(sms)


def test_posts_the_form_with_basic_auth(fake_twilio):
    send()
    [request] = fake_twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    assert request.auth == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": SMS.to,
        "From": SMS.from_,
        "Body": SMS.body,
        "StatusCallback": SMS.status_callback_url,
    }


def test_no_status_callback_field_without_a_url(fake_twilio):
    send(OutboundSMS(message_id="msg_2", to=SMS.to, from_=SMS.from_, body="hi"))
    assert "StatusCallback" not in fake_twilio.requests[0].form


@pytest.mark.parametrize("status", [201, 200])
def test_2xx_is_accepted_with_twilios_sid(fake_twilio, status):
    fake_twilio.script(Reply(status))
    result = send()
    assert isinstance(result, Accepted)
    assert SID.match(result.provider_message_id)
    assert result.raw["sid"] == result.provider_message_id
    assert result.raw["to"] == SMS.to


def test_2xx_without_a_sid_is_an_unknown_outcome(fake_twilio):
    fake_twilio.script(Reply(201, body={"status": "queued"}))
    with pytest.raises(SubmissionOutcomeUnknown):
        send()


def test_429_is_transient_and_honours_retry_after(fake_twilio):
    fake_twilio.script(rate_limited(retry_after="7"))
    with pytest.raises(TransientSubmissionError) as caught:
        send()
    assert caught.value.retry_after == 7
    assert caught.value.provider_code == "429"


def test_429_without_retry_after_leaves_the_wait_to_tern(fake_twilio):
    fake_twilio.script(rate_limited(retry_after=None))
    with pytest.raises(TransientSubmissionError) as caught:
        send()
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(fake_twilio, status):
    fake_twilio.script(server_error(status))
    with pytest.raises(TransientSubmissionError) as caught:
        send()
    assert caught.value.provider_code == str(status)
    assert caught.value.raw["status"] == status


def test_400_with_twilio_code_is_rejected_with_that_code(fake_twilio):
    fake_twilio.script(invalid_number())
    with pytest.raises(RejectedSubmission) as caught:
        send()
    assert caught.value.provider_code == "21211"
    assert caught.value.raw["code"] == 21211
    assert not isinstance(caught.value, TransientSubmissionError)


def test_wrong_credentials_are_rejected_by_twilio(fake_twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    with pytest.raises(RejectedSubmission) as caught:
        send()
    assert caught.value.provider_code == "20003"


def test_a_redirect_is_not_followed(fake_twilio):
    location = fake_twilio.base_url + fake_twilio.messages_path
    fake_twilio.script(Reply(307, body={}, headers={"Location": location}))
    with pytest.raises(TransientSubmissionError) as caught:
        send()
    assert caught.value.provider_code == "307"
    assert len(fake_twilio.requests) == 1


def test_connection_refused_is_transient(fake_twilio, settings):
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(TransientSubmissionError):
        send()
    assert fake_twilio.requests == []


def test_missing_credentials_are_transient_without_a_call(fake_twilio, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(TransientSubmissionError):
        send()
    assert fake_twilio.requests == []


def test_read_timeout_is_an_unknown_outcome(fake_twilio):
    fake_twilio.script(slow(1.0))
    with pytest.raises(SubmissionOutcomeUnknown):
        send(read_timeout=0.3)
    assert len(fake_twilio.requests) == 1  # it did reach Twilio: resending could double it


def test_connection_dropped_after_sending_is_an_unknown_outcome(fake_twilio):
    fake_twilio.script(dropped())
    with pytest.raises(SubmissionOutcomeUnknown):
        send()
    assert len(fake_twilio.requests) == 1


def test_the_auth_token_is_never_logged_nor_carried(fake_twilio, caplog):
    caplog.set_level(logging.DEBUG)
    fake_twilio.script(rate_limited(), invalid_number(), server_error(), dropped())
    errors = []
    for _ in range(4):
        with pytest.raises(Exception) as caught:
            send()
        errors.append(caught.value)
    send()
    assert caplog.records
    assert fake_twilio.auth_token not in caplog.text
    for error in errors:
        assert fake_twilio.auth_token not in f"{error} {error.raw}"


def test_lookup_cannot_search_by_terns_id():
    assert TwilioProvider().lookup("msg_01test") is None


def test_registered_as_twilio():
    provider = get_provider("twilio")
    assert isinstance(provider, TwilioProvider)
    assert provider.name == "twilio"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), (None, None), ("inf", None)],
)
def test_retry_after_parsing(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
