"""Routes of the workspaces API."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .members import InvitationViewSet, MemberViewSet
from .views import AuditEventViewSet, SenderViewSet, TokenViewSet, WorkspaceView

router = SimpleRouter(trailing_slash=False)
router.register("tokens", TokenViewSet, basename="token")
router.register("senders", SenderViewSet, basename="sender")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")

urlpatterns = [path("workspace", WorkspaceView.as_view(), name="workspace"), *router.urls]
