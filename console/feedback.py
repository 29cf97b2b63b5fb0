"""Messages shown to the person: successes, and errors from the catalogue with their fix."""

from django.contrib import messages

from workspaces.errors import TernError


def show_error(request, error: TernError) -> None:
    """The catalogue's message and `fix`, as the API would answer them, for the next page;
    with when to try again where the API says it in Retry-After."""
    text = f"{error.message} {error.spec.fix}".strip()
    wait = error.details.get("retry_after") if isinstance(error.details, dict) else None
    if wait:
        text += f" Try again in {wait} second{'' if wait == 1 else 's'}."
    messages.error(request, text, extra_tags=error.code)


def show_success(request, text: str) -> None:
    """A one-line confirmation for the next page."""
    messages.success(request, text)
