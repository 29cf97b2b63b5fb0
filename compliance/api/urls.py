"""Routes of the compliance API: suppressions, consents, exports."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .numbers import NumberView
from .views import ConsentViewSet, ExportViewSet, SuppressionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("suppressions", SuppressionViewSet, basename="suppression")
router.register("consents", ConsentViewSet, basename="consent")
router.register("exports", ExportViewSet, basename="export")

urlpatterns = [*router.urls, path("numbers/<str:e164>", NumberView.as_view(), name="number")]
