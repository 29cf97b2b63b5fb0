"""Time zones for marketing traffic that must never wait for quiet hours, whatever the hour a
run starts at (the benchmarks and the end-to-end tests both use this; production does not)."""

from datetime import UTC, datetime


def midday_zone(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is about noon at `now` (default: the current time), so a
    contact there is inside every quiet-hours window of CONTRACT §6 for the next hours."""
    offset = 12 - (now or datetime.now(UTC)).astimezone(UTC).hour  # hours east of UTC
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"  # Etc/GMT signs are inverted
