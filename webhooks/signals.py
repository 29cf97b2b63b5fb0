"""What webhooks announce to the apps above it (they connect in their AppConfig.ready)."""

from django.dispatch import Signal

# Sent after a delivery succeeded or finally failed: delivery=WebhookDelivery, succeeded=bool.
delivery_finished = Signal()
