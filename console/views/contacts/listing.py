"""Contacts: search by number or name, filter by tag (in the database), newest first in cursor
pages, with the way in to an import."""

from django import forms
from django.shortcuts import render

from campaigns.models import Contact
from campaigns.selectors import contact_search, with_tag
from workspaces.errors import TernError

from ...access import console_page
from ..lists import cursor_page, invalid_filters

READ, WRITE = "contacts:read", "contacts:write"  # the API's scopes for /contacts
LIST_COLUMNS = ("id", "workspace_id", "phone", "first_name", "last_name", "tags", "created_at")


class ContactSearchForm(forms.Form):
    """The Contacts page's search and tag filter (GET)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="A phone number (any format) or part of a name.",
    )
    tag = forms.CharField(label="Tag", required=False, max_length=64)


def contact_rows(seat, cleaned: dict):
    """The workspace's contacts matching the search and the tag (both in the database)."""
    rows = Contact.objects.for_workspace(seat.workspace_id).only(*LIST_COLUMNS)
    rows = contact_search(rows, cleaned.get("q", ""), seat.workspace.default_country)
    if cleaned.get("tag"):
        rows = with_tag(rows, cleaned["tag"].strip())
    return rows


@console_page(READ)
def contact_list(request):
    """Newest first; search by number or name; filter by tag; follow a row to its page."""
    form = ContactSearchForm(request.GET)
    context = {"form": form, "rows": [], "next": None, "previous": None, "error": None}
    try:
        if not form.is_valid():
            raise invalid_filters(form, "Check the search.")
        rows = contact_rows(request.seat, form.cleaned_data)
        context["rows"], context["next"], context["previous"] = cursor_page(request, rows)
    except TernError as error:
        context["error"] = error
    context["filtered"] = any(v for k, v in request.GET.items() if k != "cursor")
    context["can_write"] = request.seat.can(WRITE)
    return render(request, "console/contacts.html", context)
