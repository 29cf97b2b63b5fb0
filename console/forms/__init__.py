"""Console forms: posted HTML fields turned into the data the API's serializers validate."""

from dataclasses import dataclass, field

from workspaces.errors import TernError


@dataclass
class FormState:
    """What a form shows again: the values posted (or defaults) and errors by field name."""

    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)

    @classmethod
    def failed(cls, values: dict, error: TernError, *, field: str = "") -> "FormState":
        """A form refused by a serializer or a service: field errors from a validation error's
        `details`; any other error's message beside `field` (or above the form)."""
        if error.code == "validation_error":
            return cls(values=values, errors=field_errors(error.details))
        return cls(values=values, errors={field or "non_field_errors": [error.message]})


def field_errors(details) -> dict:
    """`details` of a validation error as {field: [messages]} (nested lists flattened)."""
    if not isinstance(details, dict):
        return {"non_field_errors": _messages(details)}
    return {str(name): _messages(value) for name, value in details.items()}


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, list | tuple):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


def validation_error(serializer) -> TernError:
    """The catalogue's `validation_error` for a serializer that refused its data."""
    return TernError("validation_error", details=field_errors(serializer.errors))
