"""The provider log (CONTRACT §13): requests, responses and callbacks kept, secrets redacted."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from messaging.actions.dispatch import message_dispatch
from messaging.models import Message
from messaging.provider_log import BODY_LIMIT, REDACTED, redact
from messaging.records import ProviderExchange
from workspaces.models import Workspace

from ..support.factories import message_for

pytestmark = pytest.mark.django_db

BASE = "https://tern.example.com"
STATUS = "/hooks/twilio/status"


def _log(tenant, message_id, role="viewer"):
    return tenant.client(role).get(f"/api/v1/messages/{message_id}/provider-log")


# --- The one redaction ------------------------------------------------------------------------


def test_redact_hides_auth_and_signature_headers_whatever_their_case():
    headers = {
        "Authorization": "Basic QUM6c2VjcmV0",
        "x-twilio-signature": "abc=",
        "webhook-signature": "v1,xyz",
        "Content-Type": "text/plain",
    }
    clean = redact(headers=headers).headers
    assert clean == {
        "Authorization": REDACTED,
        "x-twilio-signature": REDACTED,
        "webhook-signature": REDACTED,
        "Content-Type": "text/plain",
    }


def test_redact_hides_url_credentials_and_secret_query_parameters():
    url = "https://AC1:s3cr3t@api.example.com/2010-04-01/M.json?auth_token=zz&page=2"
    clean = redact(url=url).url
    assert "s3cr3t" not in clean and "zz" not in clean
    assert clean.startswith(f"https://{REDACTED}@api.example.com/") and "page=2" in clean


def test_redact_hides_secret_fields_of_forms_and_json_and_known_values():
    form = urlencode({"To": "+14155550100", "AuthToken": "tok", "Body": "hi"})
    assert "tok" not in redact(body=form).body and "To=%2B14155550100" in redact(body=form).body
    nested = json.dumps({"account": {"auth_token": "t0k3n", "sid": "AC1"}, "list": [{"secret": 1}]})
    clean = json.loads(redact(body=nested).body)
    assert clean == {
        "account": {"auth_token": REDACTED, "sid": "AC1"},
        "list": [{"secret": REDACTED}],
    }
    leaked = redact(
        url="https://x/?q=SECRETVALUE",
        headers={"X-Echo": "a SECRETVALUE"},
        body="free text SECRETVALUE",
        secrets=["SECRETVALUE"],
    )
    assert "SECRETVALUE" not in json.dumps(leaked.__dict__)


def test_bodies_are_bounded():
    assert len(redact(body="x" * (BODY_LIMIT * 3)).body) == BODY_LIMIT
    assert len(redact(body=b"\xff" * (BODY_LIMIT * 10)).body) == BODY_LIMIT


# --- Twilio, through the fake server ----------------------------------------------------------


@pytest.fixture
def twilio_message(tenant, fake_twilio, settings):
    """A queued live message of workspace A, to go out through (fake) Twilio."""
    settings.PUBLIC_BASE_URL = BASE
    Workspace.objects.filter(pk=tenant.workspace.pk).update(provider="twilio")
    tenant.workspace.refresh_from_db()
    message = message_for(tenant.workspace, tenant.sender, to="+14155550100")
    assert message.provider == "twilio"
    return message


def _signed_report(client, sid: str, status: str, token: str):
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    signature = RequestValidator(token).compute_signature(BASE + STATUS, form)
    return client.post(
        STATUS,
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def test_a_twilio_send_and_its_signed_callback_are_logged_without_secrets(
    tenant, other_tenant, twilio_message, fake_twilio
):
    message_dispatch(message_id=twilio_message.id)
    twilio_message.refresh_from_db()
    assert twilio_message.status == "sent" and fake_twilio.requests
    assert (
        _signed_report(
            Client(), twilio_message.provider_message_id, "delivered", fake_twilio.auth_token
        ).status_code
        == 200
    )
    response = _log(tenant, twilio_message.id)
    assert response.status_code == 200
    log = response.json()
    assert [e["kind"] for e in log] == ["request", "response", "callback"]
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)
    request, answer, callback = log
    assert set(request) == {"at", "kind", "method", "url", "status_code", "headers", "body"}
    assert request["method"] == "POST" and request["url"].endswith("/Messages.json")
    assert request["headers"]["Authorization"] == REDACTED
    assert "To=%2B14155550100" in request["body"] and request["status_code"] is None
    assert answer["status_code"] == 201 and twilio_message.provider_message_id in answer["body"]
    assert callback["status_code"] == 200 and "MessageStatus=delivered" in callback["body"]
    assert callback["headers"]["X-Twilio-Signature"] == REDACTED
    assert fake_twilio.auth_token not in response.content.decode()
    # Another workspace's message is not found, and its own log holds nothing of A's.
    assert _log(other_tenant, twilio_message.id).status_code == 404
    theirs = message_for(other_tenant.workspace, other_tenant.sender)
    assert _log(other_tenant, theirs.id).json() == []


def test_an_unsigned_callback_is_not_logged(twilio_message, fake_twilio):
    message_dispatch(message_id=twilio_message.id)
    twilio_message.refresh_from_db()
    before = ProviderExchange.objects.count()
    bad = _signed_report(Client(), twilio_message.provider_message_id, "delivered", "wrong")
    assert bad.status_code == 403 and ProviderExchange.objects.count() == before


def test_a_refused_twilio_submission_is_logged_with_its_answer(twilio_message, fake_twilio):
    from ..support.fake_twilio import invalid_number

    fake_twilio.script(invalid_number())
    message_dispatch(message_id=twilio_message.id)
    rows = ProviderExchange.objects.filter(message_id=twilio_message.id).order_by("at", "id")
    assert [(r.kind, r.status_code) for r in rows] == [("request", None), ("response", 400)]
    assert "21211" in rows[1].body


# --- The simulator ----------------------------------------------------------------------------


def test_a_simulator_send_is_logged(tenant):
    message = message_for(tenant.workspace, tenant.sender, to="+14155550429")
    assert message.provider == "simulator"
    message_dispatch(message_id=message.id)  # refused with 429 the first time
    log = _log(tenant, message.id).json()
    assert [(e["kind"], e["status_code"]) for e in log] == [("request", None), ("response", 429)]
    assert json.loads(log[0]["body"])["to"] == "+14155550429"


def test_the_provider_log_needs_messages_read(tenant):
    message = message_for(tenant.workspace, tenant.sender)
    client = tenant.client("owner")
    client.credentials()
    assert client.get(f"/api/v1/messages/{message.id}/provider-log").status_code == 401
    assert Message.objects.filter(pk=message.id).exists()


# --- The staff admin's message page -----------------------------------------------------------


def test_the_admin_message_page_shows_the_log_escaped(tenant, client, django_user_model):
    from workspaces import clock

    message = message_for(tenant.workspace, tenant.sender)
    ProviderExchange.objects.create(
        workspace=tenant.workspace,
        message_id=message.id,
        provider="twilio",
        at=clock.now(),
        kind="response",
        method="POST",
        url="https://api.example.com/x",
        status_code=201,
        headers={"Authorization": REDACTED},
        body="<script>alert(1)</script>",
    )
    staff = django_user_model.objects.create_superuser("staff@example.com", "s@example.com", "pw")
    client.force_login(staff)
    page = client.get(f"/admin/messaging/message/{message.id}/change/").content.decode()
    assert "Provider log" in page and "https://api.example.com/x" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
