"""People (CONTRACT §11): a person's own details, which belong to no single workspace.

A rename is not audited. The audit log is a hash chain per workspace of the actions §9 and §11
list, and a person's own details (name, password, two-factor set-up) are not among them; the log
names people by their email, so a new name changes no event's meaning.
"""

from django.db import transaction

from .errors import TernError

NAME_REQUIRED = "Enter your name."
NAME_MAX = 150  # the user table's first_name column, where a person's name is kept


def name_errors(name: str) -> list[str]:
    """What is wrong with a person's name as typed (empty when nothing is)."""
    if not name.strip():
        return [NAME_REQUIRED]
    if len(name.strip()) > NAME_MAX:
        return [f"Use at most {NAME_MAX} characters."]
    return []


@transaction.atomic
def person_rename(*, user, name: str):
    """Set the person's name, trimmed; 400 `validation_error` naming `name` when it is not one."""
    errors = name_errors(name)
    if errors:
        raise TernError("validation_error", details={"name": errors})
    # One field holds the whole name (as joining sets it); a last name left over would repeat.
    user.first_name, user.last_name = name.strip(), ""
    user.save(update_fields=["first_name", "last_name"])
    return user
