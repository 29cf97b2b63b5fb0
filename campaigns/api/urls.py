"""Routes of the campaigns API."""

from rest_framework.routers import SimpleRouter

from .views import ContactViewSet, TemplateViewSet

router = SimpleRouter(trailing_slash=False)
router.register("contacts", ContactViewSet, basename="contact")
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = router.urls
