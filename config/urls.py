"""Root URLs: the API under /api/v1/, provider hooks under /hooks/, health, docs and the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from console.accounts_admin import require_two_factor_for
from console.views import join as console_join
from messaging.providers.registry import provider_hooks
from workspaces import views as workspace_views

require_two_factor_for(admin.site)  # Accounts: staff sign-in with two-factor (CONTRACT §11)

api_v1 = [
    path("", include("workspaces.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("compliance.api.urls")),
    path("", include("campaigns.api.urls")),
]

urlpatterns = [
    path("healthz", workspace_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger's start-up script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include(api_v1)),
    path("w/", include("console.urls")),
    path("", include("console.accounts_urls")),  # Accounts: sign-in, /account/ (CONTRACT §11)
    # An invitation's (or an owner set-up) link: join a workspace (CONTRACT §11).
    path("join/<str:key>/", console_join.join, name="join"),
    *provider_hooks(),  # each registered provider's callbacks, at hooks/<name>/
    re_path(r"^(api|hooks)/", workspace_views.api_not_found),
]

handler400 = "workspaces.views.bad_request"
handler403 = "workspaces.views.permission_denied"
handler404 = "workspaces.views.page_not_found"
handler500 = "workspaces.views.server_error"
