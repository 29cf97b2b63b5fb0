"""The simulator's inbound hook: POST /hooks/simulator/inbound {"from", "to", "body"}."""

import uuid

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from workspaces.api.parsers import load_json
from workspaces.errors import TernError
from workspaces.middleware import error_response

from ...actions.inbound import inbound_receive
from ...provider_log import callback_record
from ..base import InboundSMS


@csrf_exempt
@require_POST
def inbound(request):
    """Act as a handset texting one of our senders (only while SIMULATOR_ENABLED)."""
    if not settings.SIMULATOR_ENABLED:
        return error_response(TernError("not_found", "The simulator is not enabled."))
    try:
        payload = load_json(request.body or b"{}")
    except TernError as error:
        return error_response(error)
    if not isinstance(payload, dict):
        return error_response(
            TernError("validation_error", 'The body must be a JSON object: {"from", "to", "body"}.')
        )
    missing = [f for f in ("from", "to", "body") if not isinstance(payload.get(f), str)]
    if missing:
        return error_response(
            TernError("validation_error", details={f: ["This field is required."] for f in missing})
        )
    message = inbound_receive(
        sms=InboundSMS(
            provider="simulator",
            provider_message_id=f"SIMIN{uuid.uuid4().hex}",
            from_=payload["from"],
            to=payload["to"],
            body=payload["body"],
            raw=payload,
        )
    )
    if message is None:
        return error_response(TernError("not_found", "No workspace owns that number."))
    callback_record(
        request,
        provider="simulator",
        provider_message_id=message.provider_message_id,
        status_code=200,
    )
    return JsonResponse({"id": message.id, "status": message.status})
