"""Strict list filters (CONTRACT §0): a filter with an invalid value is 400, never ignored.

Every list's FilterSet derives from `StrictFilterSet`; `StrictFilterBackend` (the default filter
backend) refuses any other, and turns an invalid value into 400 `validation_error` whose
`details` name the query parameter. Unknown query parameters are still ignored.
"""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend

from ..errors import TernError

TRUE_WORDS, FALSE_WORDS = frozenset({"true", "1"}), frozenset({"false", "0"})


class StrictBooleanField(forms.Field):
    """`true`/`false` (or `1`/`0`); anything else is an error, not "no filter"."""

    def to_python(self, value):
        """True, False, or None when the parameter is empty."""
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise forms.ValidationError("Must be `true` or `false`.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean filter that refuses `?test=maybe`."""

    field_class = StrictBooleanField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 with any offset a client may send, handed to the database in UTC.

    PostgreSQL refuses offsets past ±15:59 (a 500 before this), and a time whose UTC form falls
    outside years 1–9999 cannot be stored at all: both are a 400 naming the parameter.
    """

    def to_python(self, value):
        """The moment in UTC, or a validation error."""
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("A time between years 1 and 9999.", code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """`?created_after=` and friends: ISO 8601, compared in UTC."""

    field_class = UtcIsoDateTimeField


def choice_filter(values, **kwargs) -> django_filters.ChoiceFilter:
    """A filter accepting only the given values (a callable is read on each request)."""
    if callable(values):
        return django_filters.ChoiceFilter(choices=lambda: [(v, v) for v in values()], **kwargs)
    return django_filters.ChoiceFilter(choices=[(v, v) for v in values], **kwargs)


class StrictFilterSet(django_filters.FilterSet):
    """The base of every list's filters: choices and booleans refuse values they do not know.

    `PARAM_NAMES` maps a filter's Python name to its query parameter where they differ
    (`from_` → `from`), so errors name what the client sent.
    """

    PARAM_NAMES: dict[str, str] = {}
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.DateTimeField: {"filter_class": UtcIsoDateTimeFilter},
    }

    def error_details(self) -> dict:
        """The form's errors by query parameter: {param: [messages]}."""
        return {
            self.PARAM_NAMES.get(name, name): [str(m) for m in messages]
            for name, messages in self.errors.items()
        }


class CreatedRangeFilterSet(StrictFilterSet):
    """`created_after` (inclusive) and `created_before` (exclusive), as every dated list takes."""

    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, with every invalid value answered as 400 naming its parameter."""

    def get_filterset_class(self, view, queryset=None):
        """Only StrictFilterSet subclasses: a plain FilterSet would ignore bad values."""
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is not None and not issubclass(filterset_class, StrictFilterSet):
            raise ImproperlyConfigured(
                f"{type(view).__name__}.filterset_class must derive from StrictFilterSet"
            )
        return filterset_class

    def filter_queryset(self, request, queryset, view):
        """The filtered rows, or 400 `validation_error` with details per parameter."""
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            details = filterset.error_details()
            names = ", ".join(f"`{name}`" for name in details)
            raise TernError("validation_error", f"Invalid filter value: {names}.", details=details)
        return filterset.qs
