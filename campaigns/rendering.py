"""Merge fields: a small, safe substitution — no template language, nothing that runs code.

`{{first_name}}`, `{{last_name}}`, `{{phone}}` and `{{attributes.KEY}}`, each with an optional
default after a bar: `{{first_name|there}}`.
"""

import re

FIELD = re.compile(r"\{\{\s*([^{}|]+?)\s*(?:\|([^{}]*))?\}\}")
PLAIN_FIELDS = ("first_name", "last_name", "phone")
ATTRIBUTE = re.compile(r"^attributes\.[A-Za-z0-9_\-]{1,64}$")


class MissingMergeField(ValueError):
    """A recipient lacks a field the template needs and the template gives no default."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def unknown_fields(body: str) -> list[str]:
    """Merge fields of the body that Tern does not know (refused when the template is saved)."""
    names = [m.group(1) for m in FIELD.finditer(body)]
    return sorted({n for n in names if n not in PLAIN_FIELDS and not ATTRIBUTE.match(n)})


def render(body: str, values: dict) -> str:
    """The body for one recipient; `values` holds first_name, last_name, phone, attributes."""

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name.startswith("attributes."):
            value = (values.get("attributes") or {}).get(name.split(".", 1)[1])
        else:
            value = values.get(name)
        if value in (None, ""):
            if default is None:
                raise MissingMergeField(name)
            return default
        return str(value)

    return FIELD.sub(substitute, body)
