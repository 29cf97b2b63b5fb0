"""`/api/v1/messages` (send, batch, list, read, cancel) and `/refusals`: parse, call a service,
render."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from workspaces import clock
from workspaces.api.base import ListRetrieveViewSet, WorkspaceViewSet
from workspaces.api.exceptions import as_tern_error
from workspaces.api.filtering import CreatedRangeFilterSet, choice_filter
from workspaces.api.openapi import example
from workspaces.errors import CATALOGUE, TernError
from workspaces.phones import to_e164

from ..actions.batch import message_send_batch
from ..actions.dispatch import message_cancel
from ..actions.send import SendInput, message_send
from ..models import Message
from ..provider_log import provider_log_list
from ..records import Refusal
from ..refusals import SendOrigin, refusal_record, refusals_record
from ..resources import event_resource, message_resource  # noqa: F401 (re-exported)
from .idempotency import IdempotentMixin
from .serializers import (
    BatchRequestSerializer,
    BatchResultSerializer,
    BatchSerializer,
    MessageSerializer,
    ProviderExchangeSerializer,
    RefusalSerializer,
    SendSerializer,
)

REFUSAL_CODES = sorted(code for code, spec in CATALOGUE.items() if spec.http_status)

SEND_ERRORS = (
    "invalid_number",
    "same_to_from",
    "sender_not_sms_capable",
    "toll_free_not_verified",
    "unsupported_region",
    "recipient_not_verified",
    "workspace_suppressed",
    "campaign_suppressed",
    "consent_required",
    "content_blocked",
    "message_too_long",
    "duplicate_message",
    "idempotency_conflict",
    "spend_limit_exceeded",
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="1–255 characters; replays for 24 h",
)


# From the workspace's default sender; the numbers are fictional (555-01xx).
SEND_EXAMPLE = example("A text message", {"to": "+14155550123", "body": "Your code is 482913"})

BATCH_EXAMPLE = example(
    "Two messages",
    {
        "messages": [
            {"to": "+14155550124", "body": "Your order shipped."},
            {"to": "+14155550125", "body": "Your order shipped."},
        ]
    },
)


class MessageFilter(CreatedRangeFilterSet):
    """CONTRACT §4's filters; `created_after` inclusive, `created_before` exclusive."""

    to = django_filters.CharFilter(field_name="to_number", method="filter_number")
    from_ = django_filters.CharFilter(field_name="from_number", method="filter_number")
    campaign = django_filters.CharFilter(field_name="campaign_id")
    category = choice_filter([Message.TRANSACTIONAL, Message.MARKETING])
    direction = choice_filter([Message.OUTBOUND, Message.INBOUND])
    PARAM_NAMES = {"from_": "from"}

    class Meta:
        model = Message
        fields = ["status", "to", "campaign", "category", "direction", "test"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "from" in data:
            data = data.copy()
            data["from_"] = data.pop("from")[0] if hasattr(data, "getlist") else data.pop("from")
        super().__init__(data, *args, **kwargs)

    def filter_number(self, queryset, name, value):
        """Match on E.164, as stored: national formats and an unencoded `+` still find it."""
        number = value.strip()
        if value.startswith(" ") and number.isdigit():
            number = f"+{number}"  # `?to=+1415…` unencoded: the query string reads `+` as a space
        if not (number.isdigit() and len(number) <= 8):  # short codes stay as they are
            workspace = getattr(self.request, "workspace", None)
            number = to_e164(number, getattr(workspace, "default_country", None)) or number
        return queryset.filter(**{name: number})


SEND_ACTIONS = frozenset({"create", "batch"})


def _body_or_nothing(request) -> dict:
    """The request's JSON object, or {} when there is none (it may be what was refused)."""
    try:
        data = request.data
    except Exception:  # an unreadable body: the refusal is kept without numbers
        return {}
    return data if isinstance(data, dict) else {}


def _numbers(item) -> tuple:
    """(to, from) of one batch item as sent, whatever its shape."""
    return (item.get("to"), item.get("from")) if isinstance(item, dict) else (None, None)


def _send_input(validated: dict) -> SendInput:
    return SendInput(
        to=validated["to"],
        body=validated["body"],
        from_=validated.get("from") or None,
        category=validated["category"],
        metadata=validated["metadata"],
        send_at=validated["send_at"],
    )


class MessageViewSet(IdempotentMixin, ListRetrieveViewSet):
    """Send messages and follow them along their timeline."""

    model = Message
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    required_scopes = {
        "list": "messages:read",
        "retrieve": "messages:read",
        "create": "messages:send",
        "batch": "messages:send",
        "cancel": "messages:send",
        "provider_log": "messages:read",
    }
    error_codes = {
        "create": SEND_ERRORS,
        "batch": ("idempotency_conflict",),
        "cancel": ("invalid_state",),
    }

    def handle_exception(self, exc):
        """A refused send is kept in the refusals log (CONTRACT §13) before it is answered."""
        self._record_refusal(exc)
        return super().handle_exception(exc)

    def _record_refusal(self, exc) -> None:
        """Record what a send action answered with an error (not 401s: no workspace)."""
        origin = SendOrigin.of_request(self.request)
        if getattr(self, "action", None) not in SEND_ACTIONS or origin is None:
            return
        if not isinstance(exc, TernError | APIException):
            return  # unexpected: a 500, logged by the handler, is not a refusal
        error = as_tern_error(exc)
        data = {} if error.code == "rate_limited" else _body_or_nothing(self.request)
        refusal_record(origin=origin, error=error, to=data.get("to"), from_=data.get("from"))

    def get_queryset(self):
        """The token's workspace and mode; timelines fetched in one more query per page."""
        return super().get_queryset().prefetch_related("events")

    def list(self, request):
        """Newest first, cursor-paginated."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([message_resource(m) for m in page])

    def retrieve(self, request, pk=None):
        """One message with its whole timeline."""
        return Response(message_resource(self.get_object()))

    @extend_schema(
        request=SendSerializer,
        responses={202: MessageSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[SEND_EXAMPLE],
    )
    def create(self, request):
        """Send one message: 202 with the message, or the first policy failure."""
        received_at = clock.now()
        form = SendSerializer(data=request.data, context={"workspace": request.workspace})
        form.is_valid(raise_exception=True)
        return self.idempotent(
            request,
            lambda: Response(
                message_resource(
                    message_send(
                        workspace=request.workspace,
                        test=request.token.is_test,
                        data=_send_input(form.validated_data),
                        received_at=received_at,
                    )
                ),
                status=202,
            ),
        )

    @extend_schema(
        request=BatchRequestSerializer,
        responses={200: BatchResultSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[BATCH_EXAMPLE],
    )
    @action(detail=False, methods=["post"])
    def batch(self, request):
        """Up to 1,000 messages, each judged as if sent alone, in order; one result per item."""
        received_at = clock.now()
        form = BatchSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self.idempotent(
            request, lambda: Response({"results": self._batch_results(request, form, received_at)})
        )

    def _batch_results(self, request, form, received_at):
        """Validate each item alone, then accept the batch in one transaction."""
        items = [self._batch_item(request, item) for item in form.validated_data["messages"]]
        results = message_send_batch(
            workspace=request.workspace,
            test=request.token.is_test,
            items=items,
            received_at=received_at,
        )
        raw = form.validated_data["messages"]
        refused = [
            (r, *_numbers(raw[i])) for i, r in enumerate(results) if isinstance(r, TernError)
        ]
        if refused:
            refusals_record(origin=SendOrigin.of_request(request), refused=refused)
        return [
            r.envelope() if isinstance(r, TernError) else {"message": message_resource(r)}
            for r in results
        ]

    def _batch_item(self, request, item: dict):
        """One item's SendInput, or its validation error (it answers on its own, as if alone)."""
        try:
            form = SendSerializer(data=item, context={"workspace": request.workspace})
            form.is_valid(raise_exception=True)
        except Exception as exc:
            return as_tern_error(exc)
        return _send_input(form.validated_data)

    @extend_schema(responses={200: ProviderExchangeSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="provider-log", pagination_class=None)
    def provider_log(self, request, pk=None):
        """What Tern and the provider said about this message, oldest first, secrets redacted."""
        return provider_log_response(provider_log_list(message=self.get_object()))

    @extend_schema(request=None, responses={200: MessageSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a scheduled message, or a queued one not yet claimed by a worker."""
        return Response(message_resource(message_cancel(message=self.get_object())))

    def idempotent_error_response(self, exc):
        """A refused send is kept in the refusals log before its answer is stored."""
        self._record_refusal(exc)
        return super().idempotent_error_response(exc)


class RefusalFilter(CreatedRangeFilterSet):
    """`?code=`; `created_after` inclusive, `created_before` exclusive."""

    code = choice_filter(REFUSAL_CODES)

    class Meta:
        model = Refusal
        fields = ["code", "created_after", "created_before"]


class RefusalViewSet(mixins.ListModelMixin, WorkspaceViewSet):
    """Sends Tern refused in the token's mode, newest first (an integrator's error log)."""

    model = Refusal
    serializer_class = RefusalSerializer
    filterset_class = RefusalFilter
    required_scopes = {"list": "messages:read"}

    def list(self, request):
        """Newest first, cursor-paginated; filters `code`, `created_after`, `created_before`."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def provider_log_response(exchanges) -> Response:
    """The provider log as a JSON list, oldest first."""
    return Response(ProviderExchangeSerializer(exchanges, many=True).data)
