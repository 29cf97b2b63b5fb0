"""A URLconf with a view that fails, to prove unexpected errors still answer the envelope."""

from django.urls import include, path
from rest_framework.views import APIView


class Boom(APIView):
    """Raises an unexpected error after authentication."""

    required_scopes = {"get": "audit:read"}

    def get(self, request):
        raise RuntimeError("kaboom: secret=do-not-leak")


urlpatterns = [path("api/v1/boom", Boom.as_view()), path("", include("config.urls"))]
