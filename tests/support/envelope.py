"""The error envelope every failure of the API answers (CONTRACT §0)."""

RETRY_HINTS = {
    "retry_with_backoff",
    "retry_after_fix",
    "retry_after_verification",
    "retry_after_spend_available",
    "do_not_retry",
}


def assert_envelope(response, status: int, code: str) -> dict:
    """The response is the envelope with this status and code; returns the error object."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fix", "retry", "details"}
    assert body["error"]["code"] == code and body["error"]["retry"] in RETRY_HINTS
    assert response["X-Request-Id"]
    return body["error"]
