"""Suppressions (and, as the compliance work grows, consent and exports)."""

from django.db import models

from workspaces.ids import PrefixedIdField
from workspaces.models import WorkspaceScopedModel


class Suppression(WorkspaceScopedModel):
    """A number this workspace (or one campaign) must not message; removal is soft and audited."""

    WORKSPACE, CAMPAIGN = "workspace", "campaign"
    SOURCES = ["api", "keyword", "carrier", "staff", "import"]

    id = PrefixedIdField("sup")
    phone = models.CharField(max_length=20)
    scope = models.CharField(max_length=9, default=WORKSPACE)
    campaign_id = models.CharField(max_length=40, blank=True, default="")
    source = models.CharField(max_length=10, default="api")
    reason = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=254, blank=True, default="")
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.CharField(max_length=254, blank=True, default="")
    removal_reason = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["workspace", "phone", "active"], name="sup_ws_phone")]

    def __str__(self) -> str:
        return f"{self.phone} ({self.scope}, {self.source})"
