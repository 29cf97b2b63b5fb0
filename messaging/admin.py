"""Staff admin for messages: read-only pages with the timeline, and the review queue (§10)."""

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from webhooks.models import WebhookDelivery
from webhooks.services import delivery_replay
from workspaces import clock
from workspaces.admin import staff_actor
from workspaces.errors import CATALOGUE, TernError

from .actions.review import (
    MARK_REVIEWED,
    RESEND,
    SUPPRESS_NUMBER,
    review_mark_reviewed,
    review_resend,
    review_suppress_number,
)
from .models import Message
from .provider_log import provider_log_list

# Events whose detail is what the provider told us (its ids, statuses, error codes).
PROVIDER_EVENTS = frozenset(
    {
        "sent_to_carrier",
        "delivered",
        "undelivered",
        "failed",
        "retry_scheduled",
        "reconciled",
        "out_of_order_status_ignored",
        "received",
    }
)
# Codes a message's `error` can carry: the delivery failures, and a suppression found at claim.
MESSAGE_ERROR_CODES = [
    code
    for code, entry in CATALOGUE.items()
    if entry.http_status is None or entry.delivery_class or code == "workspace_suppressed"
]
MAX_REVIEW_BATCH = 200


def _short(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def human_gap(seconds: float) -> str:
    """A gap between two timeline steps as a person reads it: "+350 ms", "+1.2 s", "+3 min"."""
    if seconds < 1:
        return f"+{round(seconds * 1000)} ms"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"+{_short(seconds / size)} {unit}"
    return f"+{_short(seconds)} s"


def _pretty(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@dataclass(frozen=True)
class TimelineRow:
    """One event as the detail page shows it."""

    event: str
    at: str
    gap: str
    since_start: str
    detail: str
    has_detail: bool


def timeline_rows(events) -> list[TimelineRow]:
    """The events in order, each with its UTC time and the gap from the step before."""
    rows, first, previous = [], None, None
    for event in events:
        first = first or event.at
        gap = "" if previous is None else human_gap((event.at - previous).total_seconds())
        since = "" if previous is None else human_gap((event.at - first).total_seconds())
        rows.append(
            TimelineRow(
                event=event.event,
                at=clock.isoformat(event.at),
                gap=gap,
                since_start=since,
                detail=_pretty(event.detail or {}),
                has_detail=bool(event.detail),
            )
        )
        previous = event.at
    return rows


def error_block(error: dict | None) -> dict | None:
    """The message's error with the catalogue's current fix, retry guidance and class."""
    if not error:
        return None
    entry = CATALOGUE.get(error.get("code"))
    return {
        "code": error.get("code"),
        "message": error.get("message") or (entry.message if entry else ""),
        "fix": entry.fix if entry else error.get("fix", ""),
        "retry": entry.retry if entry else error.get("retry", ""),
        "delivery_class": entry.delivery_class if entry else None,
        "when": entry.when if entry else "",
        "provider_code": error.get("provider_code"),
        "in_catalogue": entry is not None,
    }


class ErrorCodeFilter(admin.SimpleListFilter):
    """The catalogue codes a message can fail with, plus any/none."""

    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request, model_admin):
        return [("_any", "any error"), ("_none", "no error")] + [
            (code, code) for code in MESSAGE_ERROR_CODES
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "_any":
            return queryset.filter(error__isnull=False)
        if value == "_none":
            return queryset.filter(error__isnull=True)
        if value:
            return queryset.filter(error__code=value)
        return queryset


class CampaignFilter(admin.SimpleListFilter):
    """In a campaign or not, or one campaign (any id works in the URL: ?campaign=cmp_…)."""

    title = "campaign"
    parameter_name = "campaign"
    RECENT = 20

    def lookups(self, request, model_admin):
        recent = (
            Message.objects.exclude(campaign_id="")
            .order_by("-campaign_id")
            .values_list("campaign_id", flat=True)
            .distinct()[: self.RECENT]
        )
        return [("_any", "in a campaign"), ("_none", "not in a campaign")] + [
            (cid, cid) for cid in recent
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "_any":
            return queryset.exclude(campaign_id="")
        if value == "_none":
            return queryset.filter(campaign_id="")
        if value:
            return queryset.filter(campaign_id=value)
        return queryset


class ReviewFilter(admin.SimpleListFilter):
    """The review queue: messages waiting for staff (`?review=pending`)."""

    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            (Message.REVIEW_PENDING, "In review"),
            (Message.REVIEW_DONE, "Reviewed"),
            ("never", "Never in review"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "never":
            return queryset.filter(review=Message.REVIEW_NONE)
        if value in (Message.REVIEW_PENDING, Message.REVIEW_DONE):
            return queryset.filter(review=value)
        return queryset


@dataclass(frozen=True)
class ReviewAction:
    """A way to close a review: its label, whether it needs a reason, and its service."""

    label: str
    reason_required: bool
    service: object
    explanation: str


REVIEW_ACTIONS = {
    MARK_REVIEWED: ReviewAction(
        "Mark reviewed",
        False,
        review_mark_reviewed,
        "Close the review; nothing is sent or suppressed.",
    ),
    SUPPRESS_NUMBER: ReviewAction(
        "Suppress the number",
        True,
        review_suppress_number,
        "Suppress each recipient for its workspace (source: staff) and close the review.",
    ),
    RESEND: ReviewAction(
        "Resend",
        False,
        review_resend,
        "Send a new copy (same to, from, body, category, metadata) through the full send path"
        " — policy, spend and duplicate checks included — and close the review. Make sure the"
        " first one really did not reach the handset.",
    ),
}


class ReviewForm(forms.Form):
    """The confirmation page's form: which messages, and the reason (required to suppress)."""

    ids = forms.CharField(widget=forms.HiddenInput)
    next = forms.CharField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}), required=False, strip=True
    )

    def __init__(self, *args, reason_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


def _ids(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()][:MAX_REVIEW_BATCH]


def provider_log_rows(message: Message) -> list[dict]:
    """The message's provider exchanges, oldest first, already redacted (the page escapes them)."""
    return [
        {
            "at": clock.isoformat(e.at),
            "kind": e.kind,
            "method": e.method,
            "url": e.url,
            "status_code": e.status_code,
            "headers": json.dumps(e.headers, indent=2, ensure_ascii=False),
            "body": e.body,
        }
        for e in provider_log_list(message=message)
    ]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only message pages; the review queue is `?review=pending` with its actions."""

    list_display = [
        "id",
        "workspace",
        "direction",
        "status",
        "to_number",
        "from_number",
        "error_code",
        "price",
        "test",
        "created_at",
        "review",
    ]
    list_filter = [
        "workspace",
        "status",
        ErrorCodeFilter,
        CampaignFilter,
        "test",
        "direction",
        ReviewFilter,
    ]
    search_fields = ["=id", "to_number", "=provider_message_id"]
    list_select_related = ["workspace"]
    ordering = ["-created_at"]
    show_full_result_count = False
    actions = ["mark_reviewed", "suppress_number", "resend"]
    change_list_template = "admin/messaging/message/change_list.html"
    change_form_template = "admin/messaging/message/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "workspace",
                    "direction",
                    "status",
                    "review",
                    "test",
                    "to_number",
                    "from_number",
                    "body",
                    "category",
                ]
            },
        ),
        (
            "Delivery and spend",
            {
                "fields": [
                    "provider",
                    "provider_message_id",
                    "segments",
                    "encoding",
                    "price",
                    "currency",
                    "reserved",
                    "settled_at",
                    "attempts",
                    "claimed_at",
                    "due_at",
                    "send_at",
                    "campaign_id",
                ]
            },
        ),
        ("Metadata", {"fields": ["metadata", "created_at", "updated_at"]}),
    ]

    @admin.display(description="error code")
    def error_code(self, obj):
        return (obj.error or {}).get("code", "")

    # Read-only for everyone: the page shows, nothing saves (POST answers 403).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        """Closing reviews acts on customers' numbers: staff with the message change permission."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def get_urls(self):
        review = path(
            "review/<str:action>/",
            self.admin_site.admin_view(self.review_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_review",
        )
        replay = path(
            "<path:object_id>/replay-delivery/<str:delivery_id>/",
            self.admin_site.admin_view(self.replay_delivery_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_replay_delivery",
        )
        return [review, replay, *super().get_urls()]

    # --- pages ----------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        context = {
            "review_count": Message.objects.filter(review=Message.REVIEW_PENDING).count(),
            "review_url": f"{changelist}?review={Message.REVIEW_PENDING}",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        message = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if message is not None:
            context.update(self.detail_context(request, message))
        return super().change_view(request, object_id, form_url, context)

    def detail_context(self, request, message: Message) -> dict:
        """The timeline, error, provider payloads and review links of one message."""
        rows = timeline_rows(message.events.order_by("at", "id"))
        in_review = message.review == Message.REVIEW_PENDING
        links = []
        if in_review and self.has_review_permission(request):
            here = request.get_full_path()
            for action, spec in REVIEW_ACTIONS.items():
                query = urlencode({"ids": message.pk, "next": here})
                links.append({"label": spec.label, "url": f"{self._review_url(action)}?{query}"})
        return {
            "timeline": rows,
            "error_block": error_block(message.error),
            "provider_events": [row for row in rows if row.event in PROVIDER_EVENTS],
            "in_review": in_review,
            "review_links": links,
            "webhook_deliveries": self.webhook_deliveries(request, message),
            "provider_log": provider_log_rows(message),
        }

    def webhook_deliveries(self, request, message: Message) -> list[dict]:
        """This message's events on their way to the workspace's endpoints, with replay links."""
        deliveries = (
            WebhookDelivery.objects.for_workspace(message.workspace_id)
            .filter(event__data__id=message.id)
            .select_related("endpoint", "event")
            .order_by("created_at")
        )
        return [
            {
                "id": d.id,
                "event": f"{d.event.type} ({d.event_id})",
                "endpoint": d.endpoint.url,
                "status": d.status,
                "attempts": d.attempt,
                "response_code": d.response_code,
                "replay_url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_replay_delivery",
                    args=[message.pk, d.id],
                ),
            }
            for d in deliveries
        ]

    def replay_delivery_view(self, request, object_id, delivery_id):
        """POST: deliver the event again (same webhook-id); audited with the staff user."""
        message = self.get_object(request, unquote(object_id))
        if request.method != "POST" or message is None or not self.has_review_permission(request):
            raise PermissionDenied
        delivery = get_object_or_404(
            WebhookDelivery.objects.for_workspace(message.workspace_id), pk=delivery_id
        )
        delivery_replay(
            delivery=delivery,
            actor=staff_actor(request),
            ip=request.META.get("REMOTE_ADDR"),
            reason=f"replayed from the admin page of {message.pk}",
        )
        self.message_user(request, f"Delivery {delivery.id} queued again.", messages.SUCCESS)
        return redirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[message.pk])
        )

    def review_view(self, request, action):
        """Confirm a review action (with its reason) for the listed messages, then apply it."""
        spec = REVIEW_ACTIONS.get(action)
        if spec is None:
            raise Http404("No such review action.")
        if not self.has_review_permission(request):
            raise PermissionDenied
        source = request.POST if request.method == "POST" else request.GET
        ids = _ids(source.get("ids"))
        chosen = list(
            Message.objects.filter(pk__in=ids).select_related("workspace").order_by("-created_at")
        )
        pending = [m for m in chosen if m.review == Message.REVIEW_PENDING]
        form = ReviewForm(
            request.POST if request.method == "POST" else None,
            reason_required=spec.reason_required,
            initial={"ids": ",".join(ids), "next": source.get("next", "")},
        )
        if request.method == "POST" and form.is_valid():
            self._apply(request, action, pending, reason=form.cleaned_data["reason"])
            return HttpResponseRedirect(self._next_url(request, form.cleaned_data["next"]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{spec.label}: confirm",
            "action": action,
            "spec": spec,
            "form": form,
            "pending": pending,
            "skipped": [m for m in chosen if m.review != Message.REVIEW_PENDING],
            "missing": sorted(set(ids) - {m.pk for m in chosen}),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/messaging/message/review_confirm.html", context)

    # --- actions --------------------------------------------------------------------------------

    @admin.action(description="Mark reviewed (messages in review only)", permissions=["review"])
    def mark_reviewed(self, request, queryset):
        pending = list(queryset.filter(review=Message.REVIEW_PENDING)[:MAX_REVIEW_BATCH])
        if not pending:
            self.message_user(request, "None of those messages is in review.", messages.WARNING)
            return
        self._apply(request, MARK_REVIEWED, pending, reason="")

    @admin.action(description="Suppress the number… (asks for a reason)", permissions=["review"])
    def suppress_number(self, request, queryset):
        return self._to_review_page(request, SUPPRESS_NUMBER, queryset)

    @admin.action(description="Resend… (asks to confirm)", permissions=["review"])
    def resend(self, request, queryset):
        return self._to_review_page(request, RESEND, queryset)

    # --- helpers --------------------------------------------------------------------------------

    def _review_url(self, action: str) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_review", args=[action])

    def _to_review_page(self, request, action: str, queryset):
        ids = list(
            queryset.filter(review=Message.REVIEW_PENDING).values_list("pk", flat=True)[
                :MAX_REVIEW_BATCH
            ]
        )
        if not ids:
            self.message_user(request, "None of those messages is in review.", messages.WARNING)
            return None
        query = urlencode({"ids": ",".join(ids), "next": request.get_full_path()})
        return HttpResponseRedirect(f"{self._review_url(action)}?{query}")

    def _next_url(self, request, candidate: str) -> str:
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return f"{changelist}?review={Message.REVIEW_PENDING}"

    def _apply(self, request, action: str, pending: list[Message], *, reason: str) -> None:
        """Run the action's service on each message; report what happened and what was refused."""
        spec, actor, ip = (
            REVIEW_ACTIONS[action],
            staff_actor(request),
            request.META.get("REMOTE_ADDR"),
        )
        done, refused = [], []
        for message in pending:
            try:
                result = spec.service(message=message, actor=actor, reason=reason, ip=ip)
            except TernError as exc:
                refused.append(f"{message.pk}: {exc.code} — {exc.message}")
                continue
            done.append(f"{message.pk} → {result.pk}" if action == RESEND else message.pk)
        if done:
            self.message_user(
                request,
                f"{spec.label}: {len(done)} message(s): {', '.join(done)}.",
                messages.SUCCESS,
            )
        for line in refused:
            self.message_user(request, f"{spec.label} refused for {line}", messages.ERROR)
        if not done and not refused:
            self.message_user(request, "None of those messages is in review.", messages.WARNING)
