"""What webhooks offers the apps above it: register from their AppConfig.ready()."""

from collections.abc import Callable

from workspaces.hooks import Hooks

# Called after a delivery succeeded or finally failed, in its transaction:
# hook(delivery=WebhookDelivery, succeeded=bool).
DELIVERY_FINISHED = Hooks("webhooks.delivery_finished")


def register_delivery_finished(hook: Callable[..., None]) -> None:
    """Hear of every finished delivery (messaging: `webhook_delivered` on the timeline)."""
    DELIVERY_FINISHED.register(hook)
