"""Routes of suppressions and consents."""

from rest_framework.routers import SimpleRouter

from .records import ConsentViewSet, SuppressionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("suppressions", SuppressionViewSet, basename="suppression")
router.register("consents", ConsentViewSet, basename="consent")

urlpatterns = router.urls
