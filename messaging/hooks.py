"""What messaging offers the apps above it (they may not be imported here): register from
their AppConfig.ready()."""

from collections.abc import Callable

from workspaces.hooks import Hooks

# Each takes (workspace_id, phone) and returns an IANA zone or None (campaigns: the contact's own).
TIMEZONE_LOOKUPS = Hooks("messaging.timezone_lookup")
# Each takes (inbound message, workspace) and returns True when it acted (campaigns: opt-out words).
INBOUND_HANDLERS = Hooks("messaging.inbound_handler")
# Each takes (campaign_id, lock) and returns HOLD, CANCEL or None (campaigns: paused or stopped).
CAMPAIGN_GATES = Hooks("messaging.campaign_gate")


def register_timezone_lookup(lookup: Callable[[str, str], str | None]) -> None:
    """Let an app above tell a recipient's own time zone (asked before the number's zones)."""
    TIMEZONE_LOOKUPS.register(lookup)


def register_inbound_handler(handler: Callable) -> None:
    """Let an app above act on a reply that is not a keyword (the first that acts wins)."""
    INBOUND_HANDLERS.register(handler)


def register_campaign_gate(gate: Callable[[str, bool], str | None]) -> None:
    """Let the app that owns campaigns hold or cancel a campaign's messages at the claim."""
    CAMPAIGN_GATES.register(gate)
