"""The campaign stats identity as CONTRACT §7 states it, written once for the tests: an oracle
kept apart from the code's own list, so a status dropped from the code fails a test."""

STATUSES = (
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "canceled",
)


def identity_holds(stats: dict) -> bool:
    """recipients = skipped (every reason) + each status, on a campaign's API `stats`."""
    return stats["recipients"] == sum(stats["skipped"].values()) + sum(stats[k] for k in STATUSES)
