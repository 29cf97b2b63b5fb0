"""The staff review queue: close a message's review by marking it, suppressing or resending.

Each action locks the message, refuses one not `pending` review (`invalid_state`), writes a
`review_closed` timeline event naming the action and the staff user, and an audit event, all in
one transaction with the change itself.
"""

from django.db import transaction

from compliance.models import Suppression
from compliance.services import suppression_create
from workspaces.audit import Actor, audit_record
from workspaces.errors import TernError

from ..models import Message
from ..timeline import event_add
from .send import SendInput, message_send

MARK_REVIEWED, SUPPRESS_NUMBER, RESEND = "mark_reviewed", "suppress_number", "resend"


def _locked_in_review(*, message: Message) -> Message:
    """The message, locked until the transaction ends, or `invalid_state` if not in review."""
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.review != Message.REVIEW_PENDING:
        raise TernError(
            "invalid_state",
            "This message is not waiting for review.",
            details={"review": locked.review or None},
        )
    return locked


def _close(
    message: Message, *, action: str, actor: Actor, reason: str, ip: str | None, **detail
) -> None:
    """Mark reviewed, and record who closed it and how (timeline + audit)."""
    message.review = Message.REVIEW_DONE
    message.save(update_fields=["review", "updated_at"])
    event_add(
        message,
        "review_closed",
        {
            "action": action,
            "staff": actor.label,
            "staff_id": actor.id,
            **({"reason": reason} if reason else {}),
            **detail,
        },
    )
    audit_record(
        workspace=message.workspace_id,
        actor=actor,
        action="message.review_closed",
        target=message,
        reason=reason,
        ip=ip,
        before={"review": Message.REVIEW_PENDING},
        after={"review": Message.REVIEW_DONE, "action": action, **detail},
    )


@transaction.atomic
def review_mark_reviewed(
    *, message: Message, actor: Actor, reason: str = "", ip: str | None = None
) -> Message:
    """Close the review with nothing else done."""
    locked = _locked_in_review(message=message)
    _close(locked, action=MARK_REVIEWED, actor=actor, reason=reason.strip(), ip=ip)
    return locked


@transaction.atomic
def review_suppress_number(
    *, message: Message, actor: Actor, reason: str, ip: str | None = None
) -> Suppression:
    """Suppress the recipient for the workspace (source `staff`) and close the review."""
    reason = (reason or "").strip()
    if not reason:
        raise TernError(
            "validation_error",
            "Suppressing a number needs a reason.",
            details={"reason": ["This field is required."]},
        )
    locked = _locked_in_review(message=message)
    suppression, created = suppression_create(
        workspace_id=locked.workspace_id,
        phone=locked.to_number,
        source="manual",
        actor=actor,
        reason=reason,
        ip=ip,
    )
    _close(
        locked,
        action=SUPPRESS_NUMBER,
        actor=actor,
        reason=reason,
        ip=ip,
        suppression=suppression.id,
        suppression_created=created,
    )
    return suppression


@transaction.atomic
def review_resend(
    *, message: Message, actor: Actor, reason: str = "", ip: str | None = None
) -> Message:
    """Send a new copy through the whole send path (policy, spend) and link the two timelines.

    A send the policy refuses now (e.g. the number was suppressed meanwhile) raises its
    catalogue error and leaves the review open.
    """
    locked = _locked_in_review(message=message)
    copy = message_send(
        workspace=locked.workspace,
        test=locked.test,
        data=SendInput(
            to=locked.to_number,
            from_=locked.from_number,
            body=locked.body,
            category=locked.category,
            metadata=dict(locked.metadata or {}),
        ),
    )
    event_add(copy, "resend_of", {"message": locked.id, "staff": actor.label, "staff_id": actor.id})
    _close(
        locked, action=RESEND, actor=actor, reason=(reason or "").strip(), ip=ip, resent_as=copy.id
    )
    return copy
