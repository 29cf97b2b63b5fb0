"""Writes of templates."""

from workspaces import clock
from workspaces.updates import model_update

from ..models import Template


def template_create(*, workspace_id: str, name: str, body: str) -> Template:
    """A new template (its merge fields were checked by the caller's serializer)."""
    return Template.objects.create(
        workspace_id=workspace_id, name=name, body=body, created_at=clock.now()
    )


def template_update(*, template: Template, changes: dict) -> Template:
    """Change a template's name or body."""
    model_update(instance=template, data=changes)
    return template
