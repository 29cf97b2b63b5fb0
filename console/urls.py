"""The console's pages under /w/{slug}/ (CONTRACT §12)."""

from django.urls import include, path, register_converter

from .views import developers, home, members, messages, settings
from .views.campaigns import detail as campaign_pages
from .views.campaigns import listing as campaign_listing

app_name = "console"
register_converter(campaign_pages.CampaignIdConverter, "cmp")

urlpatterns = [
    path("", home.workspace_list, name="workspaces"),
    path("<slug:slug>/", home.dashboard, name="dashboard"),
    path("<slug:slug>/test-data/", home.test_data_switch, name="test_data"),
    # Members (CONTRACT §11): the page, its actions (workspace:manage), and leaving (anyone).
    path("<slug:slug>/members/", members.members_page, name="members"),
    path("<slug:slug>/members/invite/", members.invite, name="member_invite"),
    path("<slug:slug>/members/leave/", members.leave, name="member_leave"),
    path("<slug:slug>/members/<str:member_id>/role/", members.role_change, name="member_role"),
    path("<slug:slug>/members/<str:member_id>/remove/", members.remove, name="member_remove"),
    path(
        "<slug:slug>/members/<str:member_id>/make-owner/",
        members.make_owner,
        name="member_make_owner",
    ),
    path(
        "<slug:slug>/members/<str:member_id>/reset-two-factor/",
        members.reset_two_factor,
        name="member_two_factor_reset",
    ),
    path(
        "<slug:slug>/invitations/<str:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
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
    # Campaigns and Campaign (issue 14); New campaign's campaigns/new/ comes before <campaign_id>.
    path("<slug:slug>/campaigns/", campaign_listing.campaign_list, name="campaigns"),
    path(
        "<slug:slug>/campaigns/<cmp:campaign_id>/", campaign_pages.campaign_detail, name="campaign"
    ),
    path(
        "<slug:slug>/campaigns/<cmp:campaign_id>/live/",
        campaign_pages.campaign_live,
        name="campaign_live",
    ),
    path(
        "<slug:slug>/campaigns/<cmp:campaign_id>/report/",
        campaign_pages.campaign_report,
        name="campaign_report",
    ),
    path(
        "<slug:slug>/campaigns/<cmp:campaign_id>/pause/",
        campaign_pages.campaign_pause_view,
        name="campaign_pause",
    ),
    path(
        "<slug:slug>/campaigns/<cmp:campaign_id>/resume/",
        campaign_pages.campaign_resume_view,
        name="campaign_resume",
    ),
    path(
        "<slug:slug>/campaigns/<cmp:campaign_id>/stop/",
        campaign_pages.campaign_stop_view,
        name="campaign_stop",
    ),
    path(
        "<slug:slug>/campaigns/<cmp:campaign_id>/resend-failed/",
        campaign_pages.campaign_resend_view,
        name="campaign_resend",
    ),
    path(
        "<slug:slug>/campaigns/<cmp:campaign_id>/launch/",
        campaign_pages.campaign_launch_view,
        name="campaign_launch",
    ),
    path("<slug:slug>/developers/", include(developers.urlpatterns)),
    path("<slug:slug>/settings/", settings.settings_page, name="settings"),
]
