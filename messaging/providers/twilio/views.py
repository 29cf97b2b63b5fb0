"""Twilio's callbacks: delivery reports and inbound SMS, each verified by X-Twilio-Signature.

A callback is applied before its 200 answer, so Twilio's own retries cover any failure here.
"""

import logging
from functools import wraps

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import RequestValidator

from workspaces.errors import TernError
from workspaces.middleware import error_response

from ...actions.inbound import inbound_receive
from ...actions.reports import status_report_apply
from ...provider_log import callback_record
from ..base import InboundSMS, StatusReport

logger = logging.getLogger("tern.providers.twilio")

# The reports Tern's timeline knows; queued, accepted, sending… are only Twilio's progress notes.
REPORTED_STATUSES = frozenset({"sent", "delivered", "undelivered", "failed"})
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
STATUS_FIELDS = ("MessageSid", "MessageStatus")
INBOUND_FIELDS = ("MessageSid", "From", "To")


def signature_valid(request) -> bool:
    """Whether X-Twilio-Signature signs PUBLIC_BASE_URL + path + query and the form fields."""
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.TWILIO_AUTH_TOKEN
    # Without a token anyone could sign with the empty key, so then nothing verifies.
    if not signature or not token:
        return False
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    return RequestValidator(token).validate(url, request.POST, signature)


def twilio_callback(view):
    """POST only, CSRF-exempt (Twilio has no token to send), and verified before the view runs."""

    @wraps(view)
    def checked(request):
        if request.method != "POST":
            return error_response(TernError("method_not_allowed", headers={"Allow": "POST"}))
        if not signature_valid(request):
            logger.warning("twilio: refused a callback with a bad signature on %s", request.path)
            return error_response(TernError("invalid_signature"))
        response = view(request)
        # Only verified callbacks are logged: an unsigned one cannot say which message it is about.
        callback_record(
            request,
            provider="twilio",
            provider_message_id=request.POST.get("MessageSid", ""),
            status_code=response.status_code,
            secrets=[settings.TWILIO_AUTH_TOKEN],
        )
        return response

    return csrf_exempt(checked)


def _missing(form, names: tuple[str, ...]):
    """A 400 naming the required fields that are absent, or None when all are there."""
    absent = {name: ["This field is required."] for name in names if not form.get(name)}
    return error_response(TernError("validation_error", details=absent)) if absent else None


@twilio_callback
def status(request):
    """POST /hooks/twilio/status: a delivery report, applied (deduplicated) before the 200."""
    form = request.POST
    if problem := _missing(form, STATUS_FIELDS):
        return problem
    if form["MessageStatus"] not in REPORTED_STATUSES:
        return JsonResponse({"ok": True})
    status_report_apply(report=status_report(form))
    return JsonResponse({"ok": True})


@twilio_callback
def inbound(request):
    """POST /hooks/twilio/inbound: an SMS to one of our senders; answered with empty TwiML."""
    form = request.POST
    if problem := _missing(form, INBOUND_FIELDS):
        return problem
    inbound_receive(sms=inbound_sms(form))
    # Empty TwiML: Tern sends any reply (STOP/HELP) itself, through the normal send path.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


def status_report(form) -> StatusReport:
    """Twilio's status form as a StatusReport."""
    return StatusReport(
        provider="twilio",
        provider_message_id=form["MessageSid"],
        status=form["MessageStatus"],
        error_code=form.get("ErrorCode") or None,
        raw=form.dict(),
    )


def inbound_sms(form) -> InboundSMS:
    """Twilio's inbound form as an InboundSMS."""
    return InboundSMS(
        provider="twilio",
        provider_message_id=form["MessageSid"],
        from_=form["From"],
        to=form["To"],
        body=form.get("Body", ""),
        raw=form.dict(),
    )
