"""Twilio callbacks through Django: signature checks, then reports and inbound applied."""

import uuid

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from messaging.models import Message, MessageEvent
from messaging.providers.twilio import views

from ....support.twilio_hooks import BASE, INBOUND, STATUS, TOKEN, post, report, sign, signed_post


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    """The token Twilio signs with and the public origin the signatures cover."""
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE


@pytest.fixture
def client() -> Client:
    """A client that enforces CSRF, as a browser would: the hooks must be exempt."""
    return Client(enforce_csrf_checks=True)


def assert_invalid_signature(response) -> None:
    """403 with the error envelope."""
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert set(response.json()["error"]) == {"code", "message", "fix", "retry", "details"}


@pytest.fixture
def sent_message(tenant) -> Message:
    """An outbound message Twilio has taken (status `sent`, with its sid)."""
    return Message.objects.create(
        workspace=tenant.workspace,
        status="sent",
        to_number="+14155550100",
        from_number=tenant.sender.number,
        body="hi",
        provider="twilio",
        provider_message_id="SM" + uuid.uuid4().hex,
        created_at=timezone.now(),
    )


def events(message: Message) -> list[str]:
    """The message's timeline event names."""
    return list(MessageEvent.objects.filter(message=message).values_list("event", flat=True))


def test_the_hooks_are_routed_by_the_project():
    assert resolve(STATUS).func is views.status
    assert resolve(INBOUND).func is views.inbound


# --- Signatures (rejected before anything is read or written) --------------------------------


@pytest.mark.parametrize("twilio_status", ["queued", "accepted", "sending"])
def test_valid_signature_with_a_progress_status_is_acknowledged(client, twilio_status):
    response = signed_post(client, STATUS, report("SM" + "1" * 32, twilio_status))
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_the_query_string_is_part_of_what_is_signed(client):
    params = report("SM" + "1" * 32, "queued")
    signature = sign(f"{BASE}{STATUS}?attempt=1", params)
    assert post(client, f"{STATUS}?attempt=1", params, signature).status_code == 200
    assert_invalid_signature(post(client, f"{STATUS}?attempt=2", params, signature))
    assert_invalid_signature(post(client, STATUS, params, signature))


def test_public_base_url_with_a_trailing_slash_still_verifies(client, settings):
    settings.PUBLIC_BASE_URL = BASE + "/"
    assert signed_post(client, STATUS, report("SM" + "1" * 32, "queued")).status_code == 200


def test_signed_for_another_path_is_refused(client):
    params = report("SM" + "1" * 32, "queued")
    assert_invalid_signature(post(client, STATUS, params, sign(BASE + INBOUND, params)))


def test_signed_for_another_origin_is_refused(client):
    params = report("SM" + "1" * 32, "queued")
    signature = sign("http://testserver" + STATUS, params)
    assert_invalid_signature(post(client, STATUS, params, signature))


def test_signed_with_another_token_is_refused(client):
    params = report("SM" + "1" * 32, "queued")
    assert_invalid_signature(post(client, STATUS, params, sign(BASE + STATUS, params, "other")))


def test_missing_signature_is_refused(client):
    assert_invalid_signature(post(client, STATUS, report("SM" + "1" * 32, "queued"), None))


def test_without_a_configured_token_nothing_verifies(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    params = report("SM" + "1" * 32, "queued")
    assert_invalid_signature(post(client, STATUS, params, sign(BASE + STATUS, params, "")))


def test_only_post_is_allowed(client):
    response = client.get(STATUS)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_signed_report_without_a_message_sid_is_a_validation_error(client):
    params = report("", "delivered")
    response = signed_post(client, STATUS, params)
    assert response.status_code == 400
    assert "MessageSid" in response.json()["error"]["details"]


@pytest.mark.parametrize("hook", [STATUS, INBOUND])
def test_forged_callbacks_write_nothing(client, sent_message, hook):
    params = report(sent_message.provider_message_id, "delivered", Body="STOP")
    forged = params | {"MessageStatus": "failed", "ErrorCode": "30007"}
    messages_before = Message.objects.count()
    assert_invalid_signature(post(client, hook, forged, sign(BASE + hook, params)))
    assert_invalid_signature(post(client, hook, params | {"Extra": "1"}, sign(BASE + hook, params)))
    sent_message.refresh_from_db()
    assert sent_message.status == "sent"
    assert events(sent_message) == []
    assert Message.objects.count() == messages_before


# --- Applied reports and inbound (these go through messaging.actions) ----------------------


def test_delivered_is_applied_before_the_answer(client, sent_message):
    response = signed_post(client, STATUS, report(sent_message.provider_message_id, "delivered"))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"
    assert events(sent_message) == ["delivered"]


def test_the_same_report_twice_changes_nothing_the_second_time(client, sent_message):
    params = report(sent_message.provider_message_id, "delivered")
    assert signed_post(client, STATUS, params).status_code == 200
    assert signed_post(client, STATUS, params).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"
    assert events(sent_message).count("delivered") == 1


def test_a_late_sent_after_delivered_is_only_a_timeline_event(client, sent_message):
    sid = sent_message.provider_message_id
    signed_post(client, STATUS, report(sid, "delivered"))
    assert signed_post(client, STATUS, report(sid, "sent")).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"
    assert "out_of_order_status_ignored" in events(sent_message)


def test_failed_keeps_twilios_error_code(client, sent_message):
    params = report(sent_message.provider_message_id, "failed", ErrorCode="30003")
    assert signed_post(client, STATUS, params).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == "failed"
    assert sent_message.error["code"] == "unreachable_handset"
    assert sent_message.error["provider_code"] == "30003"


def test_an_unknown_message_sid_is_acknowledged_and_changes_nothing(client, sent_message):
    before = (Message.objects.count(), MessageEvent.objects.count())
    response = signed_post(client, STATUS, report("SM" + uuid.uuid4().hex, "delivered"))
    assert response.status_code == 200
    assert (Message.objects.count(), MessageEvent.objects.count()) == before
    sent_message.refresh_from_db()
    assert sent_message.status == "sent"


def inbound_form(tenant, sid: str, body: str = "Hello there") -> dict:
    """Twilio's inbound SMS form, to the tenant's sender."""
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": "+14155550123",
        "To": tenant.sender.number,
        "Body": body,
        "NumMedia": "0",
    }


def test_inbound_is_stored_and_answered_with_empty_twiml(client, tenant):
    sid = "SM" + uuid.uuid4().hex
    response = signed_post(client, INBOUND, inbound_form(tenant, sid))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.endswith(b"<Response/>")
    message = Message.objects.get(provider="twilio", provider_message_id=sid)
    assert message.workspace_id == tenant.workspace.pk
    assert (message.direction, message.status) == ("inbound", "received")
    assert (message.from_number, message.to_number, message.body) == (
        "+14155550123",
        tenant.sender.number,
        "Hello there",
    )


def test_the_same_inbound_twice_is_stored_once(client, tenant):
    params = inbound_form(tenant, "SM" + uuid.uuid4().hex)
    assert signed_post(client, INBOUND, params).status_code == 200
    assert signed_post(client, INBOUND, params).status_code == 200
    assert Message.objects.filter(provider_message_id=params["MessageSid"]).count() == 1
