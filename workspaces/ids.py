"""Prefixed, time-sortable public ids (`msg_01J…`), as CONTRACT §0 names them."""

from django.db import models
from ulid import ULID


def new_id(prefix: str) -> str:
    """A fresh id: the prefix, an underscore and a ULID (sortable by creation time)."""
    return f"{prefix}_{str(ULID()).lower()}"


class PrefixedIdField(models.CharField):
    """A primary key holding a prefixed id, generated on creation."""

    def __init__(self, prefix: str = "", *args, **kwargs):
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("editable", False)
        kwargs["default"] = self.generate
        super().__init__(*args, **kwargs)

    def generate(self) -> str:
        """A new id with this field's prefix."""
        return new_id(self.prefix)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("default", None)
        kwargs["prefix"] = self.prefix
        return name, path, args, kwargs
