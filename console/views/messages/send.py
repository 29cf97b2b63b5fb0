"""Send: `To`, `From`, `Message`, a live count, and one send per form even when posted twice.

The form carries its own idempotency key (a UUID made with the form); the API's idempotency
mechanism keeps the first answer, so a second post of the same form lands on the same message.
Sends act in the mode shown, judged by the API's serializer and send service; refusals are logged
as the API's are, with `via: "console"`.
"""

import json
import uuid

from django import forms
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from rest_framework.exceptions import APIException

from messaging import pricing
from messaging.actions.send import SendInput, message_send
from messaging.api.serializers import SendSerializer
from messaging.encoding import encode_body
from messaging.idempotency import StoredAnswer, idempotency_claim, idempotency_finish
from messaging.records import Refusal
from messaging.refusals import SendOrigin, refusal_record
from workspaces import clock
from workspaces.api.exceptions import as_tern_error
from workspaces.errors import TernError
from workspaces.phones import country_of, to_e164
from workspaces.ratelimit import workspace_rate_check
from workspaces.selectors import sender_list

from ...access import console_page
from ...feedback import show_error, show_success


class SendForm(forms.Form):
    """What the page shows and posts; the API's serializer judges the values."""

    to = forms.CharField(label="To", required=False)
    # A select of the senders, judged like the API's `from` (the policy names a bad one).
    sender = forms.CharField(label="From", required=False, widget=forms.Select)
    body = forms.CharField(
        label="Message", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=255, required=False)

    def __init__(self, *args, numbers=(), default="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sender"].widget.choices = [(n, n) for n in numbers]
        self.fields["sender"].initial = default if default in numbers else None
        self.fields["key"].initial = uuid.uuid4().hex


def _numbers(seat) -> list[str]:
    return list(sender_list(workspace=seat.workspace).values_list("number", flat=True))


def live_count(seat, *, to: str, body: str) -> dict:
    """Characters, encoding, segments and price, from the API's own encoding and pricing."""
    encoded = encode_body(body)
    number = to_e164(to, seat.workspace.default_country) if to.strip() else None
    country = country_of(number) if number else None
    price = (
        pricing.price_for(
            workspace=seat.workspace, country=country, segments=encoded.segments, test=seat.is_test
        )
        if country
        else None
    )
    return {"characters": len(body), "encoded": encoded, "price": price, "country": country}


@console_page("messages:send")
@require_GET
def send_count(request):
    """The live count fragment, polled as one types (htmx)."""
    counted = live_count(
        request.seat, to=request.GET.get("to", ""), body=request.GET.get("body", "")
    )
    return render(request, "console/send_count.html", {"count": counted})


def _origin(request) -> SendOrigin:
    """The console's door: the seat's workspace and mode, no token, the request's id."""
    seat = request.seat
    return SendOrigin(
        workspace_id=seat.workspace_id,
        test=seat.is_test,
        via=Refusal.CONSOLE,
        request_id=getattr(request, "request_id", "") or "",
    )


def _accept(request, payload: dict, received_at):
    """Judge the send as the API does (serializer, then the send service); the message."""
    seat = request.seat
    form = SendSerializer(data=payload, context={"workspace": seat.workspace})
    form.is_valid(raise_exception=True)
    data = form.validated_data
    return message_send(
        workspace=seat.workspace,
        test=seat.is_test,
        data=SendInput(
            to=data["to"],
            body=data["body"],
            from_=data.get("from") or None,
            category=data["category"],
            origin={
                "via": Refusal.CONSOLE,
                "member": seat.member.pk,
                "user": seat.member.user.get_username(),
            },
        ),
        received_at=received_at,
    )


def _stored(answer: StoredAnswer):
    """(message id, error) of the first post of this form."""
    body = json.loads(bytes(answer.body))
    if "message" in body:
        return body["message"], None
    error = body.get("error", {})
    return None, TernError(error.get("code", "internal_error"), error.get("message"))


def _send(request, payload: dict, key: str):
    """(message id, error): send once per key; a repeat gets the first post's answer."""
    received_at = clock.now()
    claim = None
    try:
        workspace_rate_check(request.seat.workspace)  # the API's limit, spent before its claim too
        if key:
            claim = idempotency_claim(token=request.seat, path=request.path, key=key, data=payload)
            if isinstance(claim, StoredAnswer):
                return _stored(claim)
        message = _accept(request, payload, received_at)
    except (TernError, APIException) as exc:
        error = as_tern_error(exc)
        refusal_record(
            origin=_origin(request), error=error, to=payload["to"], from_=payload["from"]
        )
        if claim is not None:
            body = json.dumps(error.envelope()).encode()
            idempotency_finish(row=claim, status=error.http_status, body=body)
        return None, error
    if claim is not None:
        idempotency_finish(row=claim, status=202, body=json.dumps({"message": message.id}).encode())
    return message.id, None


@console_page("messages:send", post="messages:send")
def send(request):
    """The send form; a post sends in the mode shown and lands on the message's page."""
    seat = request.seat
    numbers, default = _numbers(seat), seat.workspace.default_sender
    form = SendForm(request.POST or None, numbers=numbers, default=default)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        payload = {"to": data["to"], "from": data["sender"] or None, "body": data["body"]}
        message_id, error = _send(request, payload, data["key"])
        if message_id:
            show_success(request, f"Message {message_id} accepted.")
            return redirect("console:message", slug=seat.workspace.slug, message_id=message_id)
        show_error(request, error)
        status = error.http_status or 400
        form.data = form.data.copy()
        form.data["key"] = uuid.uuid4().hex  # a corrected form is a new request
    elif request.method == "POST":
        status = 400
    body = form["body"].value() or ""
    to = form["to"].value() or ""
    context = {"form": form, "count": live_count(seat, to=to, body=body), "numbers": numbers}
    return render(request, "console/send.html", context, status=status)
