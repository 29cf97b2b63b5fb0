"""The `contacts` export kind, registered with compliance from CampaignsConfig.ready()."""

from collections.abc import Iterator
from datetime import date

from compliance.exports.kinds import created_between, register_export_kind, stream_values

from .models import Contact

# Export field → column: the contact of CONTRACT §7 (tags and attributes as JSON in a CSV cell).
CONTACT_COLUMNS = {
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "timezone": "timezone",
    "tags": "tags",
    "attributes": "attributes",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def contact_rows(workspace_id: str, date_from: date, date_to: date) -> Iterator[dict]:
    """The workspace's contacts created within the dates, in the order they were created."""
    queryset = created_between(Contact, workspace_id, date_from, date_to)
    return stream_values(queryset.order_by("created_at", "id"), CONTACT_COLUMNS)


def register() -> None:
    """Offer `contacts` to compliance's export registry."""
    register_export_kind("contacts", fields=list(CONTACT_COLUMNS), rows=contact_rows)
