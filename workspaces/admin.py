"""Staff admin for workspaces, tokens, senders and the (read-only) audit log."""

from django.contrib import admin, messages

from .admin_mixins import NoAddDeleteAdminMixin, NoDeleteAdminMixin, ReadOnlyAdminMixin
from .audit import Actor
from .models import ApiToken, AuditEvent, Membership, Sender, Workspace
from .selectors import month_to_date_spend
from .services import AUDITED_WORKSPACE_FIELDS, token_revoke, workspace_update


def staff_actor(request) -> Actor:
    """The audit actor for a staff user working in the admin."""
    return Actor("staff", str(request.user.pk), request.user.get_username())


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    # Removal goes through members.member_remove (audited, tokens revoked), not this form.
    readonly_fields = ["removed_at"]


@admin.register(Workspace)
class WorkspaceAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    """Spend limit, month-to-date spend, countries, test mode, provider; changes audited."""

    list_display = [
        "name",
        "slug",
        "id",
        "test_mode",
        "spend_limit",
        "spend_this_month",
        "provider",
    ]
    search_fields = ["name", "slug", "id"]
    readonly_fields = ["id", "currency", "spend_this_month", "created_at"]
    fields = ["id", "currency", "spend_this_month", *AUDITED_WORKSPACE_FIELDS, "created_at"]
    inlines = [MembershipInline]

    @admin.display(description="month-to-date spend (USD)")
    def spend_this_month(self, obj):
        return month_to_date_spend(workspace=obj)

    def save_model(self, request, obj, form, change):
        """Route staff edits through the audited service."""
        if not change:
            return super().save_model(request, obj, form, change)
        changes = {
            f: form.cleaned_data[f] for f in AUDITED_WORKSPACE_FIELDS if f in form.changed_data
        }
        original = Workspace.objects.get(pk=obj.pk)
        workspace_update(
            workspace=original,
            actor=staff_actor(request),
            changes=changes,
            ip=request.META.get("REMOTE_ADDR"),
            reason="changed in the staff admin",
        )


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Tokens are read-only here (their secrets were never stored); staff may revoke."""

    list_display = [
        "name",
        "prefix",
        "workspace",
        "mode",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["mode", "workspace"]
    search_fields = ["name", "prefix", "id"]
    actions = ["revoke"]
    exclude = ["secret_hash"]

    @admin.action(description="Revoke selected tokens (audited)")
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(
                token=token, actor=staff_actor(request), ip=request.META.get("REMOTE_ADDR")
            )
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)


@admin.register(Sender)
class SenderAdmin(NoAddDeleteAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "workspace",
        "kind",
        "country",
        "sms_capable",
        "toll_free_verified",
        "mps",
        "removed_at",
    ]
    list_filter = ["kind", "country", "sms_capable"]
    search_fields = ["number"]
    readonly_fields = ["id", "workspace", "number", "created_at", "removed_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, superusers included: the database refuses changes anyway."""

    list_display = [
        "created_at",
        "workspace",
        "action",
        "actor_type",
        "actor_label",
        "target_type",
        "target_id",
        "seq",
    ]
    list_filter = ["action", "actor_type"]
    search_fields = ["id", "target_id", "actor_label"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
