"""Contacts and message templates (campaigns and their fan-out follow)."""

from django.db import models

from workspaces.ids import PrefixedIdField
from workspaces.models import WorkspaceScopedModel


class Contact(WorkspaceScopedModel):
    """A person a workspace may text; one per phone number in a workspace."""

    id = PrefixedIdField("ctc")
    phone = models.CharField(max_length=20)
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    # IANA zone; when set it decides the contact's quiet hours instead of the number's zones.
    timezone = models.CharField(max_length=64, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "phone"], name="contact_unique_phone")
        ]


class Template(WorkspaceScopedModel):
    """A message body with merge fields, e.g. `Hi {{first_name|there}}`."""

    id = PrefixedIdField("tpl")
    name = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
