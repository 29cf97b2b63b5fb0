"""Routes of the messaging API."""

from rest_framework.routers import SimpleRouter

from .views import MessageViewSet, RefusalViewSet

router = SimpleRouter(trailing_slash=False)
router.register("messages", MessageViewSet, basename="message")
router.register("refusals", RefusalViewSet, basename="refusal")

urlpatterns = router.urls
