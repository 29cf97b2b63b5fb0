"""Routes of the webhooks API."""

from rest_framework.routers import SimpleRouter

from .views import EventViewSet, WebhookDeliveryViewSet, WebhookEndpointViewSet

router = SimpleRouter(trailing_slash=False)
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls
