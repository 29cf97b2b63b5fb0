"""Token scopes and member roles (CONTRACT §2): what each role may hand to a token."""

READ_SCOPES = frozenset(
    {
        "messages:read",
        "contacts:read",
        "consents:read",
        "suppressions:read",
        "campaigns:read",
        "exports:read",
        "audit:read",
    }
)
ALL_SCOPES = READ_SCOPES | {
    "messages:send",
    "contacts:write",
    "consents:write",
    "suppressions:write",
    "campaigns:write",
    "webhooks:manage",
    "exports:create",
    "workspace:manage",
}

OWNER, ADMIN, CAMPAIGN_MANAGER, AGENT, VIEWER = (
    "owner",
    "admin",
    "campaign_manager",
    "agent",
    "viewer",
)
ROLE_CHOICES = [(r, r.replace("_", " ")) for r in (OWNER, ADMIN, CAMPAIGN_MANAGER, AGENT, VIEWER)]

_AGENT = READ_SCOPES | {"messages:send"}
_CAMPAIGN_MANAGER = _AGENT | {
    "contacts:write",
    "consents:write",
    "suppressions:write",
    "campaigns:write",
}
ROLE_SCOPES: dict[str, frozenset[str]] = {
    VIEWER: READ_SCOPES,
    AGENT: frozenset(_AGENT),
    CAMPAIGN_MANAGER: frozenset(_CAMPAIGN_MANAGER),
    ADMIN: ALL_SCOPES,
    OWNER: ALL_SCOPES,
}
# Actions that need more than a scope: the creator's role must be one of these.
MANAGER_ROLES = frozenset({OWNER, ADMIN})


def scopes_for_role(role: str) -> frozenset[str]:
    """Every scope a member of this role may grant to a token."""
    return ROLE_SCOPES.get(role, frozenset())
