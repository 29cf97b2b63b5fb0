"""Messages shown to the person: successes, and errors from the catalogue with their fix."""

from django.contrib import messages

from workspaces.errors import TernError


def show_error(request, error: TernError) -> None:
    """The catalogue's message and `fix`, as the API would answer them, for the next page."""
    messages.error(request, f"{error.message} {error.spec.fix}".strip(), extra_tags=error.code)


def show_success(request, text: str) -> None:
    """A one-line confirmation for the next page."""
    messages.success(request, text)
