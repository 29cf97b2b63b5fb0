"""The Developers page (CONTRACT §12): API tokens, webhook endpoints with their delivery log, and
senders; each action is its own POST URL under developers/."""

from django.urls import path

from ...access import console_page
from . import senders, tokens, webhooks
from .common import render_developers


@console_page()
def developers_page(request):
    """Tokens for every member (their own, or all with `workspace:manage`), endpoints with
    `webhooks:manage`, senders with `workspace:manage`."""
    return render_developers(request)


urlpatterns = [
    path("", developers_page, name="developers"),
    path("tokens/", tokens.token_create, name="token_create"),
    path("tokens/<str:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("endpoints/", webhooks.endpoint_create, name="endpoint_create"),
    path("endpoints/<str:endpoint_id>/", webhooks.endpoint_page, name="endpoint"),
    path(
        "endpoints/<str:endpoint_id>/rotate-secret/",
        webhooks.endpoint_rotate_secret,
        name="endpoint_rotate_secret",
    ),
    path("endpoints/<str:endpoint_id>/test/", webhooks.endpoint_send_test, name="endpoint_test"),
    path(
        "endpoints/<str:endpoint_id>/enabled/", webhooks.endpoint_enabled, name="endpoint_enabled"
    ),
    path("endpoints/<str:endpoint_id>/delete/", webhooks.endpoint_delete, name="endpoint_delete"),
    path("endpoints/<str:endpoint_id>/replay/", webhooks.endpoint_replay, name="endpoint_replay"),
    path("deliveries/<str:delivery_id>/replay/", webhooks.delivery_replay, name="delivery_replay"),
    path("senders/", senders.sender_create, name="sender_create"),
    path("senders/<str:sender_id>/remove/", senders.sender_remove, name="sender_remove"),
]
