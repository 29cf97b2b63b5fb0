"""What messaging offers the apps above it (they may not be imported here): each hook is a
`Hooks` with its `register_*` function, called from the higher app's `AppConfig.ready()`.
Campaigns plugs in a contact's own time zone, its opt-out words and its pause/stop gate."""

from collections.abc import Callable

from workspaces.hooks import Hooks

# Each takes (workspace_id, phone) and returns an IANA zone or None (campaigns: the contact's own).
TIMEZONE_LOOKUPS = Hooks("messaging.timezone_lookup")
# Each takes (inbound message, workspace) and returns True when it acted (campaigns: opt-out words).
INBOUND_HANDLERS = Hooks("messaging.inbound_handler")

# A paused campaign (CONTRACT §7) changes no message's status: its queued messages stay queued,
# and none is submitted until it resumes. A gate takes (campaign_id, lock) and answers HOLD while
# the campaign holds its messages (paused), CANCEL once it was stopped (a message that went back
# to `queued` after the stop, e.g. a failed attempt awaiting its retry, is canceled like the
# rest), else None. The campaign's own status stays the one truth; a copy kept on messaging's
# side would be a second state to keep in step. Every path that would submit a campaign message
# (the pump's booking, the send pool at a slot, a retry, the sweeper's hand-back to the pump) ends
# in the claim, which asks with `lock=True`: campaigns then share-locks the campaign row for the
# claim's transaction, so a claim and a pause are ordered — a message claimed before the pause
# commits is already `sending` and finishes; after it, none is claimed. A held message goes back
# to its campaign's pump (due time cleared), which books it a slot at the sender's pace on resume.
HOLD, CANCEL = "hold", "cancel"
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


def recipient_timezone(*, workspace_id: str, phone: str) -> str | None:
    """The recipient's own time zone, when an app above knows it."""
    for lookup in TIMEZONE_LOOKUPS:
        zone = lookup(workspace_id, phone)
        if zone:
            return zone
    return None


def campaign_gate(*, campaign_id: str, lock: bool = False) -> str | None:
    """HOLD or CANCEL for the campaign's messages now, or None to let them go."""
    for gate in CAMPAIGN_GATES:
        verdict = gate(campaign_id, lock)
        if verdict:
            return verdict
    return None
