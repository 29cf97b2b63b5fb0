"""The message page's webhook deliveries, with staff replay (audited)."""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from webhooks.models import WebhookDelivery
from webhooks.services.sweeps import delivery_replay
from workspaces.admin import staff_actor

from ..models import Message


class WebhookReplayAdminMixin:
    """Lists a message's webhook deliveries and replays one on POST."""

    def replay_urls(self):
        """The replay URL, for `get_urls`."""
        return [
            path(
                "<path:object_id>/replay-delivery/<str:delivery_id>/",
                self.admin_site.admin_view(self.replay_delivery_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_replay_delivery",
            )
        ]

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
