"""Routes of the compliance API: suppressions, consents, exports."""

from rest_framework.routers import SimpleRouter

from .views import ConsentViewSet, ExportViewSet, SuppressionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("suppressions", SuppressionViewSet, basename="suppression")
router.register("consents", ConsentViewSet, basename="consent")
router.register("exports", ExportViewSet, basename="export")

urlpatterns = router.urls
