"""Routes of the campaigns API."""

from rest_framework.routers import SimpleRouter

from .views import CampaignViewSet, ContactImportViewSet, ContactViewSet, TemplateViewSet

router = SimpleRouter(trailing_slash=False)
router.register("contacts", ContactViewSet, basename="contact")
router.register("contact-imports", ContactImportViewSet, basename="contact-import")
router.register("templates", TemplateViewSet, basename="template")
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = router.urls
