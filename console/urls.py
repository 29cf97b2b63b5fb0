"""The console's pages under /w/{slug}/ (CONTRACT §12)."""

from django.urls import path

from .views import home

app_name = "console"

urlpatterns = [
    path("", home.workspace_list, name="workspaces"),
    path("<slug:slug>/", home.dashboard, name="dashboard"),
    path("<slug:slug>/test-data/", home.test_data_switch, name="test_data"),
]
