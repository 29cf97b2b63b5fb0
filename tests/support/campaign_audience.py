"""A campaign audience with one of each common skip, for the console's review and the API's
dry run to be compared on (issue 14)."""

from bench.zones import midday_zone
from compliance.services import suppression_create
from workspaces.audit import Actor

from .factories import contacts_for, next_number

BODY = "Hi {{first_name|there}}, your code {{attributes.code}}"
# What the dry run of BODY to MIXED_TAG skips in a mixed_audience().
MIXED_SKIPS = {
    "workspace_suppressed": 1,
    "consent_required": 1,
    "missing_merge_field": 1,
    "invalid_number": 1,
}
MIXED_TAG = "vip"


def tagged(workspace, count=1, *, consent=True, attributes=None, phones=None, **fields):
    """Contacts tagged MIXED_TAG with attributes.code, where it is midday now (so quiet hours
    hold none of them)."""
    phones = phones or [next_number() for _ in range(count)]
    fields.setdefault("timezone", midday_zone())
    return contacts_for(
        workspace,
        phones,
        tags=(MIXED_TAG,),
        consent=consent,
        attributes={"code": "A1"} if attributes is None else attributes,
        **fields,
    )


def mixed_audience(workspace, passing: int = 2) -> None:
    """`passing` contacts who get BODY, then one suppressed, one without consent, one missing
    attributes.code and one invalid number (MIXED_SKIPS)."""
    tagged(workspace, passing)
    suppressed = tagged(workspace)[0]
    suppression_create(
        workspace_id=workspace.pk, phone=suppressed.phone, source="api", actor=Actor.system()
    )
    tagged(workspace, consent=False)
    tagged(workspace, attributes={})
    tagged(workspace, phones=["+15555550100"])  # a number no carrier can reach
