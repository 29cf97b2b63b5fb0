"""Inbound keywords (CONTRACT §6): STOP and its family, START/UNSTOP, HELP/INFO.

The whole body decides, trimmed and case-insensitive: "Stop" opts out, "stop texting me" does not
(carriers and the CTIA handbook treat only the bare keyword as an instruction).
"""

from workspaces.audit import Actor
from workspaces.models import Workspace

from .models import Consent, Suppression
from .selectors import active_suppressions
from .services import consent_record, suppression_create, suppression_remove

STOP, START, HELP = "stop", "start", "help"
KEYWORDS = {
    **dict.fromkeys(
        ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"], STOP
    ),
    **dict.fromkeys(["START", "UNSTOP"], START),
    **dict.fromkeys(["HELP", "INFO"], HELP),
}


def keyword_of(body: str) -> str | None:
    """`stop`, `start` or `help` when the whole body is one of their keywords."""
    return KEYWORDS.get(" ".join(body.split()).upper())


def keyword_apply(*, workspace: Workspace, phone: str, kind: str, inbound_id: str) -> str:
    """Act on a keyword (suppress / lift / nothing) and return the one reply to send."""
    actor = Actor("system", inbound_id, f"keyword {kind.upper()} from {phone}")
    if kind == STOP:
        suppression_create(
            workspace_id=workspace.pk,
            phone=phone,
            source="keyword",
            actor=actor,
            reason=f"STOP received ({inbound_id})",
        )
        consent_record(
            workspace_id=workspace.pk,
            phone=phone,
            action=Consent.REVOKE,
            method="keyword",
            actor=actor,
            disclosure="STOP",
        )
        return stop_reply(workspace)
    if kind == START:
        keyword_stops = active_suppressions(workspace_id=workspace.pk, phone=phone).filter(
            source="keyword", scope=Suppression.WORKSPACE
        )
        for suppression in keyword_stops:
            suppression_remove(
                suppression=suppression, actor=actor, reason=f"START received ({inbound_id})"
            )
        consent_record(
            workspace_id=workspace.pk,
            phone=phone,
            action=Consent.GRANT,
            method="keyword",
            actor=actor,
            disclosure="START",
        )
        return start_reply(workspace)
    return help_reply(workspace)


def stop_reply(workspace: Workspace) -> str:
    """The confirmation of an opt-out."""
    return (
        f"{workspace.name}: you are unsubscribed and will get no more messages. "
        "Reply START to subscribe again."
    )


def start_reply(workspace: Workspace) -> str:
    """The confirmation of an opt-in."""
    return (
        f"{workspace.name}: you are subscribed again. Msg & data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    )


def help_reply(workspace: Workspace) -> str:
    """The workspace's help text, or one built from what a HELP answer must say."""
    if workspace.help_text:
        return workspace.help_text
    return (
        f"{workspace.name}: Msg & data rates may apply. Reply STOP to opt out. "
        "For support, reply to this message."
    )
