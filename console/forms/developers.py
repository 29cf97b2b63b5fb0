"""The Developers page's forms: posted fields as the data the API's serializers take."""

from workspaces.models import Sender


def token_data(post) -> dict:
    """`Create token`: name, mode, the checked scopes, an optional expiry (workspace time)."""
    return {
        "name": post.get("name", "").strip(),
        "mode": post.get("mode", ""),
        "scopes": post.getlist("scopes"),
        "expires_at": post.get("expires_at", "").strip() or None,
    }


def endpoint_data(post) -> dict:
    """`Add endpoint`: url, description and the checked events (`*` for all of them)."""
    return {
        "url": post.get("url", "").strip(),
        "description": post.get("description", "").strip(),
        "events": post.getlist("events"),
    }


def replay_range_data(post) -> dict:
    """`Replay failed deliveries`: the `From` and `To` times (empty: every failed one)."""
    return {"since": post.get("since", "").strip(), "until": post.get("until", "").strip()}


def sender_data(post) -> dict:
    """`Add sender`: number, kind, country and mps when given, the two capability boxes."""
    data = {
        "number": post.get("number", "").strip(),
        "kind": post.get("kind", Sender.LONG_CODE),
        "sms_capable": "sms_capable" in post,
        "toll_free_verified": "toll_free_verified" in post,
    }
    for name in ("country", "mps"):
        if value := post.get(name, "").strip():
            data[name] = value
    return data
