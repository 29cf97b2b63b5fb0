"""Staff admin for suppressions: read-only, removed only through a form that requires a reason."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from workspaces.admin import staff_actor
from workspaces.admin_mixins import ReadOnlyAdminMixin
from workspaces.errors import TernError

from .models import Suppression
from .services import suppression_remove


class RemovalForm(forms.Form):
    """Why the number may be messaged again; kept on the row and in the audit log."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        strip=True,
        help_text="Recorded on the suppression and in the audit log with your name.",
    )


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """No add, edit or delete: the one write is removal, for a reason, audited."""

    list_display = [
        "id",
        "phone",
        "workspace",
        "scope",
        "campaign_id",
        "source",
        "active",
        "created_at",
        "created_by",
        "removed_at",
        "removed_by",
        "remove_link",
    ]
    list_filter = ["workspace", "scope", "source", "active"]
    search_fields = ["=id", "phone", "campaign_id"]
    list_select_related = ["workspace"]
    ordering = ["-created_at"]
    show_full_result_count = False
    change_form_template = "admin/compliance/suppression/change_form.html"

    def has_remove_permission(self, request):
        """Staff who may change suppressions may remove one (through the form)."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.display(description="remove")
    def remove_link(self, obj):
        if not obj.active:
            return "—"
        return format_html('<a href="{}">Remove…</a>', self._remove_url(obj.pk))

    def get_urls(self):
        remove = path(
            "<path:object_id>/remove/",
            self.admin_site.admin_view(self.remove_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_remove",
        )
        return [remove, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        suppression = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if suppression is not None and suppression.active and self.has_remove_permission(request):
            context["remove_url"] = self._remove_url(suppression.pk)
        return super().change_view(request, object_id, form_url, context)

    def remove_view(self, request, object_id):
        """GET: the form; POST with a reason: remove (soft, audited), back to the suppression."""
        if not self.has_remove_permission(request):
            raise PermissionDenied
        suppression = self.get_object(request, unquote(object_id))
        if suppression is None:
            raise Http404("No such suppression.")
        form = RemovalForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                suppression_remove(
                    suppression=suppression,
                    actor=staff_actor(request),
                    reason=form.cleaned_data["reason"],
                    ip=request.META.get("REMOTE_ADDR"),
                )
            except TernError as exc:
                self.message_user(request, f"Not removed: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"Suppression of {suppression.phone} removed.", messages.SUCCESS
                )
            return HttpResponseRedirect(self._change_url(suppression.pk))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Remove the suppression of {suppression.phone}",
            "original": suppression,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/compliance/suppression/remove.html", context)

    def _remove_url(self, pk) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_remove", args=[quote(pk)]
        )

    def _change_url(self, pk) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[quote(pk)]
        )
