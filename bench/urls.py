"""The bench server's URLs: the platform's own, plus a do-nothing view as the send baseline."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView


class NoopView(APIView):
    """Same authentication, scope check, rate limit and middleware as a send; no work at all."""

    required_scopes = {"post": "messages:send"}

    def post(self, request):
        """Accept and do nothing."""
        return Response({"ok": True}, status=202)


urlpatterns = [path("bench/noop", NoopView.as_view()), path("", include("config.urls"))]
