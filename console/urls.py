"""The console's pages under /w/{slug}/ (CONTRACT §12)."""

from django.urls import path

from .views import home, members

app_name = "console"

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
]
