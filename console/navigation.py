"""The console's navigation: each page with the scope a member needs to see it (CONTRACT §12)."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from .access import Seat


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    scope: str | None = None  # None: every member
    managers_only: bool = False


NAV = (
    NavItem("Dashboard", "console:dashboard"),
    NavItem("Messages", "console:messages", "messages:read"),
    NavItem("Send", "console:send", "messages:send"),
    NavItem("Refused requests", "console:refusals", "messages:read"),
    NavItem("Contacts", "console:contacts", "contacts:read"),
    NavItem("Templates", "console:templates", "campaigns:read"),
    NavItem("Campaigns", "console:campaigns", "campaigns:read"),
    NavItem("Suppressions", "console:suppressions", "suppressions:read"),
    NavItem("Exports", "console:exports", "exports:read"),
    NavItem("Audit log", "console:audit", "audit:read"),
    NavItem("Developers", "console:developers"),
    NavItem("Members", "console:members"),
    NavItem("Settings", "console:settings", "workspace:manage"),
)


def nav_for(seat: Seat, current: str) -> list[dict]:
    """The links this seat may follow; pages not built yet (no URL) are left out."""
    links = []
    for item in NAV:
        if item.scope and not seat.can(item.scope):
            continue
        if item.managers_only and not seat.is_manager:
            continue
        try:
            url = reverse(item.url_name, kwargs={"slug": seat.workspace.slug})
        except NoReverseMatch:
            continue
        links.append({"label": item.label, "url": url, "current": url == current})
    return links
