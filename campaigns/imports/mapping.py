"""An import's columns mapped to Tern's fields: guessed from the header, chosen in the console.

A mapping is a list aligned with the header row: each column becomes one of `FIELDS`,
`attributes.<name>`, or `ignore`. An API import without `columns` carries no mapping and reads
the contract's columns by name; a console import, or an API import given `columns`, reads the
columns its mapping names (`by_mapping`).
"""

import re

from workspaces.errors import TernError

from ..models import ATTRIBUTE_KEY_MAX, ATTRIBUTES_MAX_KEYS

FIELDS = ("phone", "first_name", "last_name", "timezone", "tags", "consent", "consent_captured_at")
IGNORE = "ignore"
ATTRIBUTE = "attributes."
# Header names people write for Tern's fields (lower case, spaces and dashes as underscores).
SYNONYMS = {
    "phone": ("phone", "phone_number", "mobile", "mobile_number", "cell", "number", "msisdn"),
    "first_name": ("first_name", "firstname", "first", "given_name"),
    "last_name": ("last_name", "lastname", "last", "surname", "family_name"),
    "timezone": ("timezone", "time_zone", "tz"),
    "tags": ("tags", "tag", "groups", "labels"),
    "consent": ("consent", "opt_in", "optin", "opted_in"),
    "consent_captured_at": ("consent_captured_at", "consent_date", "opt_in_date", "captured_at"),
}
_GUESS = {name: field for field, names in SYNONYMS.items() for name in names}
_KEY = re.compile(r"[A-Za-z0-9_]+")


def attribute_key(cell: str) -> str:
    """The attribute a column name becomes: lower case, runs of other characters as `_`."""
    key = "_".join(_KEY.findall(cell.strip().lower()))
    return key[:ATTRIBUTE_KEY_MAX] or "column"


def guess(header: list[str]) -> list[str]:
    """A first mapping: known names (and their synonyms) to Tern's fields, each field once;
    blank column names ignored; every other column to `attributes.<its name>`."""
    mapping, taken = [], set()
    for cell in header:
        normal = re.sub(r"[\s\-]+", "_", cell.strip().lower())
        field = _GUESS.get(normal)
        if not cell.strip():
            mapping.append(IGNORE)
        elif field and field not in taken:
            taken.add(field)
            mapping.append(field)
        else:
            mapping.append(ATTRIBUTE + attribute_key(cell))
    return mapping


def mapping_error(message: str) -> TernError:
    """A 400 naming the mapping (the catalogue's validation_error)."""
    return TernError("validation_error", message, details={"columns": [message]})


def validate(header: list[str], mapping: list[str]) -> list[str]:
    """The mapping, checked: one target per column, each field and attribute at most once,
    `phone` exactly once; else `validation_error` saying what to change."""
    if len(mapping) != len(header):
        raise mapping_error(f"Map each of the file's {len(header)} columns, no more, no fewer.")
    seen, attributes = set(), 0
    for column, target in zip(header, mapping, strict=True):
        target = target.strip()
        if target.startswith(ATTRIBUTE):
            key = target[len(ATTRIBUTE) :]
            if not _KEY.fullmatch(key) or len(key) > ATTRIBUTE_KEY_MAX:
                raise mapping_error(
                    f"Column `{column}`: an attribute name is 1 to {ATTRIBUTE_KEY_MAX} letters,"
                    " digits or underscores."
                )
            attributes += 1
        elif target not in FIELDS and target != IGNORE:
            raise mapping_error(
                f"Column `{column}`: map it to one of {', '.join(FIELDS)}, attributes.<name>"
                " or ignore."
            )
        if target != IGNORE and target in seen:
            raise mapping_error(f"`{target}` is chosen for two columns; choose it for one.")
        seen.add(target)
    if "phone" not in seen:
        raise mapping_error("No column is mapped to `phone`; choose the column with the numbers.")
    if attributes > ATTRIBUTES_MAX_KEYS:
        raise mapping_error(f"At most {ATTRIBUTES_MAX_KEYS} columns may become attributes.")
    return [target.strip() for target in mapping]


def by_mapping(mapping: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """(Tern's fields by column index, attributes by column index) of a mapping."""
    fields, attributes = {}, {}
    for index, target in enumerate(mapping):
        if target.startswith(ATTRIBUTE):
            attributes[target[len(ATTRIBUTE) :]] = index
        elif target in FIELDS:
            fields[target] = index
    return fields, attributes
