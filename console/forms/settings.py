"""The Settings page's form, built from the writable fields of the API's WorkspaceSerializer.

Each field gets its words here (label, meaning and limits); a field the serializer gains later
appears on its own, with its name as label until it gets a row in FIELD_TEXT.
"""

import re
from dataclasses import dataclass

from rest_framework import serializers

from workspaces.api.serializers import WorkspaceSerializer

# name: (label, help: what it means and its limits, widget); the widget is guessed when empty.
FIELD_TEXT = {
    "name": ("Name", "The workspace's name, shown in the console. At most 200 characters.", ""),
    "slug": (
        "Slug",
        "The workspace's part of console addresses (/w/<slug>/): lower-case letters, digits and "
        "hyphens, unique on Tern, at most 64 characters. Old links stop working when it changes.",
        "",
    ),
    "test_mode": (
        "Test mode",
        "While on, live tokens too may send only to the verified recipients below "
        "(recipient_not_verified). Test tokens always do.",
        "checkbox",
    ),
    "require_two_factor": (
        "Require two-factor",
        "When on, every member must sign in with a second factor to use this workspace.",
        "checkbox",
    ),
    "spend_limit": (
        "Spend limit",
        "The most this workspace may spend in a UTC calendar month, in USD (up to 4 decimals). "
        "Sends past it are refused (spend_limit_exceeded); alerts go at 80 % and 100 %. "
        "Empty: no limit.",
        "",
    ),
    "allowed_countries": (
        "Allowed countries",
        "Countries this workspace may send to, as ISO 3166 alpha-2 codes (US, CA, GB, AU…), "
        "separated by commas or spaces; at most 250. Others are refused (unsupported_region).",
        "words",
    ),
    "verified_recipients": (
        "Verified recipients",
        "The numbers test tokens (and live ones in test mode) may send to, one per line, in "
        "E.164 (+14155550100) or national form of the default country; at most 1,000.",
        "lines",
    ),
    "duplicate_window_seconds": (
        "Duplicate window",
        "Seconds during which the same body to the same number, in the same mode, is refused "
        "(duplicate_message). From 0 (off) to 86,400 (one day); default 60.",
        "",
    ),
    "rate_limit_per_second": (
        "Rate limit per second",
        "API requests per second for the whole workspace (the bucket's size and refill); from 1 "
        "to 500, default 50. Requests over it answer 429 rate_limited.",
        "",
    ),
    "default_sender": (
        "Default sender",
        "The number a message is sent from when it names none: one of the workspace's senders.",
        "sender",
    ),
    "default_country": (
        "Default country",
        "The country national numbers (without +) are read in: an ISO 3166 alpha-2 code, e.g. US.",
        "",
    ),
    "timezone": (
        "Time zone",
        "An IANA time zone name (e.g. America/New_York): the console's “today” and the times it "
        "shows. Default UTC.",
        "timezone",
    ),
    "help_text": (
        "Help text",
        "The reply to a recipient who texts HELP or INFO: program name, message rates, how to "
        "opt out (STOP) and a support contact. At most 600 characters.",
        "textarea",
    ),
    "blocked_terms": (
        "Blocked terms",
        "Terms refused in any message body (content_blocked), matched as whole words whatever "
        "the case, on top of the platform's list: one per line, each at most 100 characters, "
        "at most 500.",
        "lines",
    ),
}
SPLIT = {"words": re.compile(r"[\s,;]+"), "lines": re.compile(r"[\r\n]+")}


@dataclass(frozen=True)
class SettingField:
    """One input of the form: its name, words, widget, value shown, errors and limits."""

    name: str
    label: str
    help: str
    widget: str
    value: object
    errors: list
    choices: tuple = ()
    min_value: object = None
    max_value: object = None
    max_length: object = None


def writable_fields() -> dict:
    """The serializer's writable fields, in FIELD_TEXT's order, then any others."""
    fields = {n: f for n, f in WorkspaceSerializer().fields.items() if not f.read_only}
    ordered = [n for n in FIELD_TEXT if n in fields] + [n for n in fields if n not in FIELD_TEXT]
    return {n: fields[n] for n in ordered}


def _widget(name: str, field) -> str:
    """The widget named in FIELD_TEXT, or one fitting the serializer field's type."""
    given = FIELD_TEXT.get(name, ("", "", ""))[2]
    if given:
        return given
    if isinstance(field, serializers.BooleanField):
        return "checkbox"
    if isinstance(field, serializers.ChoiceField):
        return "select"
    if isinstance(field, serializers.ListField):
        return "lines"
    if isinstance(field, serializers.IntegerField | serializers.DecimalField):
        return "number"
    return "text"


def shown(widget: str, value) -> object:
    """A stored value as its input shows it."""
    if widget in SPLIT and isinstance(value, list | tuple):
        return (", " if widget == "words" else "\n").join(str(v) for v in value)
    return "" if value is None else value


def posted(widget: str, field, raw: dict, name: str):
    """The posted input as the value the serializer reads."""
    if widget == "checkbox":
        return name in raw
    value = raw.get(name, "")
    if widget in SPLIT:
        return [v.strip() for v in SPLIT[widget].split(value) if v.strip()]
    if isinstance(field, serializers.DecimalField) and not value.strip():
        return None  # empty: no limit
    return value.strip() if isinstance(value, str) and widget != "textarea" else value


def form_data(post) -> dict:
    """Every writable field, as posted, in the shape the API's PATCH takes."""
    return {
        name: posted(_widget(name, field), field, post, name)
        for name, field in writable_fields().items()
    }


def form_fields(
    workspace, current: dict, *, values: dict | None = None, errors: dict | None = None
) -> list:
    """The inputs to render: the workspace's values as the API shows them (`current`), or those
    posted, and their errors."""
    values, errors = values or {}, errors or {}
    rows = []
    for name, field in writable_fields().items():
        label, help_text, _ = FIELD_TEXT.get(
            name, (name.replace("_", " ").capitalize(), str(field.help_text or ""), "")
        )
        widget = _widget(name, field)
        rows.append(
            SettingField(
                name=name,
                label=label,
                help=help_text,
                widget=widget,
                value=shown(
                    widget,
                    values[name]
                    if name in values
                    else current.get(name, getattr(workspace, name, None)),
                ),
                errors=errors.get(name, []),
                choices=tuple(getattr(field, "choices", {}).items()),
                min_value=getattr(field, "min_value", None),
                max_value=getattr(field, "max_value", None),
                max_length=getattr(field, "max_length", None),
            )
        )
    return rows
