"""Provider error codes → catalogue codes and what Tern does next (CONTRACT §3 delivery table),
through both providers: Twilio's submissions and callbacks (a real local server), the simulator."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from compliance.models import Suppression
from messaging.actions.dispatch import message_dispatch
from messaging.actions.sweeps import sweep_due, sweep_stuck_sending
from messaging.models import Message, MessageEvent
from messaging.providers.simulator.models import SimulatorSubmission
from messaging.providers.simulator.reports import simulator_reports_apply
from workspaces.errors import CATALOGUE, delivery_error_for

from ..support.factories import message_for, next_number
from ..support.fake_twilio import Reply, twilio_error

pytestmark = pytest.mark.django_db

# Every code of the seeds' error guides: (catalogue code, class, retry hint).
TABLE = {
    "21211": ("unknown_number", "suppress", "do_not_retry"),
    "21266": ("provider_rejected", "review", "do_not_retry"),
    "21408": ("provider_rejected", "review", "do_not_retry"),
    "21606": ("provider_rejected", "review", "do_not_retry"),
    "21610": ("carrier_opted_out", "suppress", "do_not_retry"),
    "21612": ("provider_rejected", "review", "do_not_retry"),
    "21614": ("landline_or_unreachable_carrier", "suppress", "do_not_retry"),
    "30003": ("unreachable_handset", "retry", "retry_with_backoff"),
    "30005": ("unknown_number", "suppress", "do_not_retry"),
    "30006": ("landline_or_unreachable_carrier", "suppress", "do_not_retry"),
    "30007": ("carrier_filtered", "review", "retry_after_fix"),
    "30008": ("unknown_delivery_error", "retry", "retry_with_backoff"),
    "30011": ("provider_rejected", "review", "do_not_retry"),
    "30032": ("toll_free_not_verified", "review", "retry_after_verification"),
    "30410": ("unknown_delivery_error", "retry", "retry_with_backoff"),
    "99999": ("provider_rejected", "review", "do_not_retry"),
    "20003": ("provider_rejected", "review", "do_not_retry"),
}


@pytest.mark.parametrize(("provider_code", "expected"), sorted(TABLE.items()))
def test_every_provider_code_maps_to_its_catalogue_entry(provider_code, expected):
    entry = delivery_error_for(provider_code)
    assert (entry.code, entry.delivery_class, entry.retry) == expected
    assert delivery_error_for(int(provider_code)) == entry  # Twilio's JSON gives numbers


def test_codes_outside_the_table_are_never_transient():
    """Unknown codes are rejections (review, do_not_retry); a missing code on a failure report is
    unknown_delivery_error, on a refused submission provider_rejected; 429/5xx are unavailable."""
    assert delivery_error_for("12345").code == "provider_rejected"
    assert delivery_error_for(" 21408 ").code == "provider_rejected"
    assert delivery_error_for(None).code == "unknown_delivery_error"
    assert delivery_error_for("").code == "unknown_delivery_error"
    assert delivery_error_for(None, refused=True).code == "provider_rejected"
    assert delivery_error_for("400", refused=True).code == "provider_rejected"
    assert delivery_error_for("429").code == "provider_unavailable"
    assert delivery_error_for("503").code == "provider_unavailable"
    rejected = CATALOGUE["provider_rejected"]
    assert rejected.http_status is None and rejected.message and rejected.fix
    assert rejected.retry == "do_not_retry" and rejected.delivery_class == "review"


# --- Twilio submissions, on the wire ----------------------------------------------------------


def twilio_message(tenant, to: str | None = None) -> Message:
    """A queued message of the tenant that goes through Twilio."""
    message = message_for(tenant.workspace, tenant.sender, to=to)
    Message.objects.filter(pk=message.pk).update(provider="twilio")
    return message


def events(message: Message) -> list[str]:
    return list(MessageEvent.objects.filter(message=message).values_list("event", flat=True))


@pytest.mark.parametrize(
    ("twilio_code", "http_status"), [("21408", 400), ("21612", 400), ("21606", 400), ("99999", 400)]
)
def test_a_submission_rejected_with_an_unlisted_code_is_final_and_in_review(
    tenant, other_tenant, fake_twilio, twilio_code, http_status
):
    """Twilio refuses with a code outside the table: failed, provider_rejected with the code, in
    the staff review queue, never submitted again (not by a retry, not by the sweeper)."""
    fake_twilio.script(Reply(http_status, twilio_error(int(twilio_code), "Refused", http_status)))
    message = twilio_message(tenant)
    theirs = message_for(other_tenant.workspace, other_tenant.sender)
    message_dispatch(message_id=message.id)
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error["code"] == "provider_rejected"
    assert message.error["provider_code"] == twilio_code
    assert message.error["retry"] == "do_not_retry"
    assert message.review == Message.REVIEW_PENDING
    assert "review_opened" in events(message) and "retry_scheduled" not in events(message)
    assert message.reserved == 0 and message.settled_at  # never reached a carrier: free
    for minutes in (2, 15, 90):
        with time_machine.travel(timezone.now() + timedelta(minutes=minutes)):
            sweep_due()
            sweep_stuck_sending()
            message_dispatch(message_id=message.id)
    assert len(fake_twilio.requests) == 1
    assert not Suppression.objects.filter(phone=message.to_number).exists()
    theirs.refresh_from_db()
    assert theirs.status == "queued" and theirs.review == ""


@pytest.mark.parametrize(
    ("twilio_code", "code", "suppressed"),
    [
        ("21211", "unknown_number", True),
        ("21614", "landline_or_unreachable_carrier", True),
        ("21610", "carrier_opted_out", True),
        ("21266", "provider_rejected", False),
    ],
)
def test_submission_codes_of_the_table_act_on_their_class(
    tenant, fake_twilio, twilio_code, code, suppressed
):
    fake_twilio.script(Reply(400, twilio_error(int(twilio_code), "Refused", 400)))
    message = twilio_message(tenant)
    message_dispatch(message_id=message.id)
    message.refresh_from_db()
    assert message.status == "failed" and message.error["code"] == code
    assert message.error["provider_code"] == twilio_code
    carrier = Suppression.objects.filter(
        workspace=tenant.workspace, phone=message.to_number, source="carrier", active=True
    )
    assert carrier.exists() is suppressed
    assert (message.review == Message.REVIEW_PENDING) is (not suppressed)
    assert len(fake_twilio.requests) == 1


def test_a_4xx_without_a_twilio_code_is_a_rejection(tenant, fake_twilio):
    fake_twilio.script(Reply(403, {"message": "Forbidden"}))
    message = twilio_message(tenant)
    message_dispatch(message_id=message.id)
    message.refresh_from_db()
    assert message.status == "failed" and message.error["code"] == "provider_rejected"
    assert message.error["provider_code"] == "403" and message.review == Message.REVIEW_PENDING


# --- Twilio status callbacks -------------------------------------------------------------------

STATUS_HOOK = "/hooks/twilio/status"


def post_report(settings, sid: str, status: str, error_code: str | None):
    """Twilio's signed status callback."""
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    if error_code:
        form["ErrorCode"] = error_code
    url = settings.PUBLIC_BASE_URL.rstrip("/") + STATUS_HOOK
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, form)
    return Client().post(
        STATUS_HOOK,
        urlencode(form),
        headers={"X-Twilio-Signature": signature},
        content_type="application/x-www-form-urlencoded",
    )


def sent_through_twilio(tenant, fake_twilio) -> Message:
    """A message Twilio has taken (status `sent`, with Twilio's sid)."""
    message = twilio_message(tenant)
    message_dispatch(message_id=message.id)
    message.refresh_from_db()
    assert message.status == "sent"
    return message


def test_a_30032_report_is_toll_free_not_verified_in_review(tenant, fake_twilio, settings):
    message = sent_through_twilio(tenant, fake_twilio)
    response = post_report(settings, message.provider_message_id, "undelivered", "30032")
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "undelivered"
    assert message.error["code"] == "toll_free_not_verified"
    assert message.error["provider_code"] == "30032"
    assert message.error["retry"] == "retry_after_verification"
    assert message.review == Message.REVIEW_PENDING
    assert not Suppression.objects.filter(phone=message.to_number).exists()


def test_a_21610_report_suppresses_the_number_for_the_workspace(
    tenant, other_tenant, fake_twilio, settings
):
    """carrier_opted_out: a workspace suppression with source carrier; the next send is refused."""
    message = sent_through_twilio(tenant, fake_twilio)
    post_report(settings, message.provider_message_id, "failed", "21610")
    message.refresh_from_db()
    assert message.error["code"] == "carrier_opted_out" and message.review == ""
    suppression = Suppression.objects.get(workspace=tenant.workspace, phone=message.to_number)
    assert suppression.source == "carrier" and suppression.scope == "workspace"
    assert suppression.active and "carrier_opted_out" in suppression.reason
    again = tenant.client().post(
        "/api/v1/messages",
        {"to": message.to_number, "body": "again", "from": tenant.sender.number},
        format="json",
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "workspace_suppressed"
    theirs = other_tenant.client().post(
        "/api/v1/messages",
        {"to": message.to_number, "body": "ours", "from": other_tenant.sender.number},
        format="json",
    )
    assert theirs.status_code == 202  # another workspace's suppression is not theirs


def test_a_30008_report_is_an_unknown_delivery_error_of_the_retry_class(
    tenant, fake_twilio, settings
):
    """Retry class: the hint tells the integrator to retry; Tern itself does not resend."""
    message = sent_through_twilio(tenant, fake_twilio)
    post_report(settings, message.provider_message_id, "undelivered", "30008")
    message.refresh_from_db()
    assert message.status == "undelivered"
    assert message.error["code"] == "unknown_delivery_error"
    assert message.error["retry"] == "retry_with_backoff"
    assert message.error["provider_code"] == "30008" and message.review == ""
    assert not Suppression.objects.filter(phone=message.to_number).exists()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        sweep_due()
    assert len(fake_twilio.requests) == 1


def test_an_unknown_code_in_a_report_is_provider_rejected(tenant, fake_twilio, settings):
    message = sent_through_twilio(tenant, fake_twilio)
    post_report(settings, message.provider_message_id, "failed", "30011")
    message.refresh_from_db()
    assert (
        message.error["code"] == "provider_rejected" and message.error["provider_code"] == "30011"
    )
    assert message.review == Message.REVIEW_PENDING


# --- The simulator's scripted failures go the same way ---------------------------------------


@pytest.mark.parametrize(
    ("ending", "status", "code", "review"),
    [
        ("0003", "failed", "unreachable_handset", ""),
        ("0005", "undelivered", "unknown_number", ""),
        ("0006", "undelivered", "landline_or_unreachable_carrier", ""),
        ("0007", "failed", "carrier_filtered", Message.REVIEW_PENDING),
    ],
)
def test_simulator_outcomes_use_the_same_mapping(tenant, ending, status, code, review):
    to = next_number()[:-4] + ending
    message = message_for(tenant.workspace, tenant.sender, to=to)
    message_dispatch(message_id=message.id)
    submission = SimulatorSubmission.objects.get(message_id=message.id)
    simulator_reports_apply(
        status=submission.final_status,
        error_code=submission.final_code,
        provider_message_id=submission.provider_message_id,
    )
    message.refresh_from_db()
    assert (message.status, message.error["code"], message.review) == (status, code, review)
    assert message.error["provider_code"] == submission.final_code
