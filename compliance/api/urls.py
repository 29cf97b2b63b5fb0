"""Routes of the compliance API."""

from rest_framework.routers import SimpleRouter

from .views import ExportViewSet

router = SimpleRouter(trailing_slash=False)
router.register("exports", ExportViewSet, basename="export")

urlpatterns = router.urls
