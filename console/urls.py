"""The console's pages under /w/{slug}/ (CONTRACT §12)."""

from django.urls import include, path

from .views import developers, home, settings

app_name = "console"

urlpatterns = [
    path("", home.workspace_list, name="workspaces"),
    path("<slug:slug>/", home.dashboard, name="dashboard"),
    path("<slug:slug>/test-data/", home.test_data_switch, name="test_data"),
    path("<slug:slug>/developers/", include(developers.urlpatterns)),
    path("<slug:slug>/settings/", settings.settings_page, name="settings"),
]
