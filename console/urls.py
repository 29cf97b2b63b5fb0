"""The console's pages under /w/{slug}/ (CONTRACT §12)."""

from django.urls import path

from .views import home, messages

app_name = "console"

urlpatterns = [
    path("", home.workspace_list, name="workspaces"),
    path("<slug:slug>/", home.dashboard, name="dashboard"),
    path("<slug:slug>/test-data/", home.test_data_switch, name="test_data"),
    # The message pages (issue 13): messages/new/ before messages/<id>/.
    path("<slug:slug>/messages/", messages.message_list, name="messages"),
    path("<slug:slug>/messages/new/", messages.send, name="send"),
    path("<slug:slug>/messages/new/count/", messages.send_count, name="send_count"),
    path("<slug:slug>/messages/<str:message_id>/", messages.message_detail, name="message"),
    path(
        "<slug:slug>/messages/<str:message_id>/cancel/",
        messages.message_cancel_view,
        name="message_cancel",
    ),
    path(
        "<slug:slug>/messages/<str:message_id>/replay/",
        messages.delivery_replay_view,
        name="message_replay",
    ),
    path("<slug:slug>/refusals/", messages.refusal_list, name="refusals"),
]
