"""`model_update`: the one way a service changes a row's fields, with the audit's before/after.

After the HackSoft styleguide's `model_update`: set the given fields, optionally `full_clean`,
save with `update_fields`, and say what changed.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class Update:
    """The given fields' values before and after one `model_update`."""

    before: dict
    after: dict

    @property
    def changed(self) -> list[str]:
        """The fields whose value differs, sorted."""
        return sorted(f for f in self.after if self.after[f] != self.before[f])

    @property
    def has_changed(self) -> bool:
        """Whether any given field took a new value."""
        return bool(self.changed)

    def audit(self, fields: Iterable[str] | None = None, *, changed_only: bool = True) -> dict:
        """`before` and `after` for `audit_record(**...)`: the changed fields (or all given ones),
        limited to `fields` when given."""
        names = self.changed if changed_only else list(self.after)
        keep = [f for f in names if fields is None or f in fields]
        return {
            "before": {f: self.before[f] for f in keep},
            "after": {f: self.after[f] for f in keep},
        }


def _value(instance: models.Model, name: str):
    # A relation's id, not its object: reading the before value costs no query.
    return getattr(instance, instance._meta.get_field(name).attname)


def _auto_now_fields(instance: models.Model) -> list[str]:
    # `save(update_fields=...)` writes `auto_now` columns only when named, as a full save did.
    return [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]


def model_update(
    *, instance: models.Model, data: dict, full_clean: bool = False, save: bool = True
) -> Update:
    """Set `data` on the instance, optionally validate, save those fields; return what changed.

    Every given field is written (changed or not) and `auto_now` columns are bumped, as the
    full `save()` it replaces did; fields not given are left as the database has them.
    """
    before = {field: _value(instance, field) for field in data}
    for field, value in data.items():
        setattr(instance, field, value)
    if full_clean:
        instance.full_clean()
    if save:
        instance.save(update_fields=[*dict.fromkeys([*data, *_auto_now_fields(instance)])])
    return Update(before=before, after={field: _value(instance, field) for field in data})
