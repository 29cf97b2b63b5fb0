"""The console's pages under /w/{slug}/ (CONTRACT §12)."""

from django.urls import include, path, register_converter

from .views import (
    audit,
    contacts,
    developers,
    exports,
    home,
    members,
    messages,
    numbers,
    settings,
    suppressions,
    templates,
)
from .views.campaigns import detail as campaign_pages
from .views.campaigns import listing as campaign_listing
from .views.campaigns import new as campaign_new

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
    # Records (issue 14): suppressions, exports and the audit log.
    path("<slug:slug>/suppressions/", suppressions.suppression_list, name="suppressions"),
    path(
        "<slug:slug>/suppressions/<str:suppression_id>/remove/",
        suppressions.suppression_remove,
        name="suppression_remove",
    ),
    path("<slug:slug>/exports/", exports.export_list, name="exports"),
    path("<slug:slug>/exports/<str:export_id>/", exports.export_row, name="export_row"),
    path(
        "<slug:slug>/exports/<str:export_id>/download/",
        exports.export_download,
        name="export_download",
    ),
    path("<slug:slug>/audit/", audit.audit_list, name="audit"),
    path("<slug:slug>/audit/verify/", audit.audit_verify, name="audit_verify"),
    # Templates and New campaign (issue 14): templates/new/ and templates/preview/ before <id>/,
    # campaigns/new/ before campaigns/<campaign_id>/.
    path("<slug:slug>/templates/", templates.template_list, name="templates"),
    path("<slug:slug>/templates/new/", templates.template_new, name="template_new"),
    path(
        "<slug:slug>/templates/preview/",
        templates.template_preview_fragment,
        name="template_preview",
    ),
    path("<slug:slug>/templates/<str:template_id>/", templates.template_detail, name="template"),
    path("<slug:slug>/campaigns/new/", campaign_new.campaign_new, name="campaign_new"),
    # The contact pages (issue 14): contacts/import/ and contacts/imports/ before contacts/<id>/.
    path("<slug:slug>/contacts/", contacts.contact_list, name="contacts"),
    path("<slug:slug>/contacts/import/", contacts.import_upload, name="contact_import_new"),
    path(
        "<slug:slug>/contacts/imports/<str:import_id>/",
        contacts.import_detail,
        name="contact_import",
    ),
    path(
        "<slug:slug>/contacts/imports/<str:import_id>/start/",
        contacts.import_start,
        name="contact_import_start",
    ),
    path(
        "<slug:slug>/contacts/imports/<str:import_id>/progress/",
        contacts.import_progress,
        name="contact_import_progress",
    ),
    path(
        "<slug:slug>/contacts/imports/<str:import_id>/report.csv",
        contacts.import_report,
        name="contact_import_report",
    ),
    path("<slug:slug>/contacts/<str:contact_id>/", contacts.contact_detail, name="contact"),
    path(
        "<slug:slug>/contacts/<str:contact_id>/delete/",
        contacts.contact_delete_view,
        name="contact_delete",
    ),
    # The Number page (issue 14): the path part is the E.164 number, `+` included.
    path("<slug:slug>/numbers/<str:e164>/", numbers.number_page, name="number"),
    path(
        "<slug:slug>/numbers/<str:e164>/evidence/", numbers.number_evidence, name="number_evidence"
    ),
]
