"""The review queue (§10): its actions, the confirmation page and how they are applied."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from workspaces.admin import staff_actor
from workspaces.errors import TernError

from ..actions.review import (
    MARK_REVIEWED,
    RESEND,
    SUPPRESS_NUMBER,
    review_mark_reviewed,
    review_resend,
    review_suppress_number,
)
from ..models import Message

MAX_REVIEW_BATCH = 200


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


class ReviewAdminMixin:
    """The review actions, their confirmation page and the links the detail page offers."""

    def has_review_permission(self, request):
        """Closing reviews acts on customers' numbers: staff with the message change permission."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def review_urls(self):
        """The confirmation page's URL, for `get_urls`."""
        return [
            path(
                "review/<str:action>/",
                self.admin_site.admin_view(self.review_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_review",
            )
        ]

    def review_links(self, request, message: Message) -> list[dict]:
        """The detail page's links to close this message's review, for staff who may."""
        if message.review != Message.REVIEW_PENDING or not self.has_review_permission(request):
            return []
        here = request.get_full_path()
        return [
            {
                "label": spec.label,
                "url": f"{self._review_url(action)}?{urlencode({'ids': message.pk, 'next': here})}",
            }
            for action, spec in REVIEW_ACTIONS.items()
        ]

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
