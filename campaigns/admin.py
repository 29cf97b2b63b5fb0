"""Staff admin for campaigns and contact imports: read-only views of what customers did."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from workspaces.admin_mixins import ReadOnlyAdminMixin

from .models import Campaign, ContactImport
from .resources import campaign_stats


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A campaign with its live stats (from the counters, never a scan of its messages)."""

    list_display = [
        "id",
        "name",
        "workspace",
        "test",
        "status",
        "from_number",
        "recipients",
        "launched_at",
        "completed_at",
        "stopped_at",
    ]
    list_filter = ["status", "test", "workspace"]
    search_fields = ["=id", "name", "from_number"]
    list_select_related = ["workspace"]
    ordering = ["-created_at"]
    show_full_result_count = False
    readonly_fields = ["stats_table"]

    @admin.display(description="stats")
    def stats_table(self, obj):
        """recipients = skipped + every status, and the cost."""
        stats = campaign_stats(obj)
        skipped = stats.pop("skipped")
        rows = [*stats.items(), *((f"skipped: {code}", n) for code, n in skipped.items())]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )


@admin.register(ContactImport)
class ContactImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """An import and its report."""

    list_display = [
        "id",
        "workspace",
        "status",
        "file_name",
        "created",
        "updated",
        "error_count",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "workspace"]
    search_fields = ["=id", "file_name"]
    list_select_related = ["workspace"]
    ordering = ["-created_at"]

    @admin.display(description="errors")
    def error_count(self, obj):
        """How many rows the import refused."""
        return len(obj.errors or [])
