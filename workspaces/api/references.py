"""Ids and numbers named in request bodies, resolved inside the caller's workspace only.

DESIGN's tenancy rule 2: serializers resolve related ids inside `context["workspace"]`. Every
field that names another object uses one of these, so another workspace's id (or another mode's,
for mode-scoped objects) is refused exactly as an id that exists nowhere: same status, same code,
same message. No answer can tell a caller that some other workspace has that id.

An id's prefix names its kind (CONTRACT §0), so the model is found from the prefix through
Django's app registry: no app here imports the app that owns the model (campaigns, webhooks…).
"""

from functools import cache

from django.apps import apps
from rest_framework import serializers

from ..ids import PrefixedIdField
from ..phones import to_e164
from ..selectors import sender_get_active


@cache
def _models_by_prefix() -> dict[str, type]:
    """Every tenant-owned model with a prefixed id, by prefix (`cmp` → Campaign, …)."""
    found = {}
    for model in apps.get_models():
        pk = model._meta.pk
        if isinstance(pk, PrefixedIdField) and hasattr(model.objects, "for_workspace"):
            found[pk.prefix] = model
    return found


def _token(context: dict):
    return context.get("token") or getattr(context.get("request"), "token", None)


def find_in_workspace(prefix: str, value: str, *, workspace, token=None):
    """The object of this kind with this id that `token` (else `workspace`) may see, or None."""
    model = _models_by_prefix().get(prefix)
    if model is None or not isinstance(value, str) or not value.startswith(prefix + "_"):
        return None
    if token is not None and token.workspace_id == workspace.pk:
        rows = model.objects.visible_to(token)
    else:
        rows = model.objects.for_workspace(workspace)
    return rows.filter(pk=value).first()


class WorkspaceIdField(serializers.CharField):
    """The id of one of this workspace's objects of one kind (`WorkspaceIdField("cmp")`).

    Validates to the id itself, or to the object with `as_object=True`; `literals` are words
    taken as they are (a consent's scope is `"workspace"` or a campaign id). Any id the caller
    may not see fails with the same `does_not_exist` message as an id of nothing.
    """

    default_error_messages = {
        "does_not_exist": "There is no {noun} with this id in this workspace."
    }

    def __init__(self, prefix: str, *, noun: str, as_object: bool = False, literals=(), **kwargs):
        self.prefix, self.noun, self.as_object = prefix, noun, as_object
        self.literals = frozenset(literals)
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("help_text", f"The id of a {noun} of this workspace (`{prefix}_…`).")
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        """The id (or object), if the caller's workspace and mode hold it (after the text's
        own checks: blank, null, length)."""
        value = super().run_validation(data)
        if not value or value in self.literals:
            return value
        found = find_in_workspace(
            self.prefix, value, workspace=self.context["workspace"], token=_token(self.context)
        )
        if found is None:
            self.fail("does_not_exist", noun=self.noun)
        return found if self.as_object else found.pk


class WorkspaceSenderField(serializers.CharField):
    """A number (or short code) that is an active sender of this workspace.

    Another workspace's number is refused exactly as a number nobody has.
    """

    default_error_messages = {"not_a_sender": "Not an active sender of this workspace."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "One of this workspace's active senders.")
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        """The number as the sender is stored: short codes as given, others in E.164."""
        value = super().run_validation(data)
        if not value:
            return value
        workspace = self.context["workspace"]
        if not (value.isdigit() and len(value) <= 8):
            value = to_e164(value, workspace.default_country) or value
        if sender_get_active(workspace=workspace, number=value) is None:
            self.fail("not_a_sender")
        return value
