"""Suppressions (and, as the compliance work grows, consent and exports)."""

from django.db import models

from workspaces.ids import PrefixedIdField
from workspaces.models import WorkspaceScopedModel


class Suppression(WorkspaceScopedModel):
    """A number this workspace (or one campaign) must not message; removal is soft and audited."""

    WORKSPACE, CAMPAIGN = "workspace", "campaign"
    SOURCES = ["api", "keyword", "carrier", "manual", "import"]

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
        indexes = [
            models.Index(fields=["workspace", "phone", "active"], name="sup_ws_phone"),
            # The console's and the API's newest-first cursor pages of a workspace's list.
            models.Index(fields=["workspace", "-created_at", "-id"], name="sup_ws_created"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} ({self.scope}, {self.source})"


class Consent(WorkspaceScopedModel):
    """One grant or revocation of consent; history is append-only, the latest record decides."""

    GRANT, REVOKE = "grant", "revoke"
    METHODS = ["web_form", "keyword", "paper", "verbal", "api", "import"]

    id = PrefixedIdField("con")
    phone = models.CharField(max_length=20)
    # "workspace", or a campaign id for consent to one campaign only.
    scope = models.CharField(max_length=40, default="workspace")
    category = models.CharField(max_length=20, default="marketing")
    action = models.CharField(max_length=6, default=GRANT)
    method = models.CharField(max_length=10)
    disclosure = models.TextField(blank=True, default="")
    captured_at = models.DateTimeField()
    ip = models.CharField(max_length=45, blank=True, default="")
    user_agent = models.CharField(max_length=500, blank=True, default="")
    source_url = models.URLField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=254, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=["workspace", "phone", "scope", "category", "-created_at"],
                name="consent_latest",
            )
        ]


class Export(WorkspaceScopedModel):
    """A compliance export: run on the worker, written to storage with its manifest."""

    PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"

    id = PrefixedIdField("exp")
    kind = models.CharField(max_length=20)
    format = models.CharField(max_length=5)
    date_from = models.DateField()
    date_to = models.DateField()
    # What a bundle kind reads instead of dates (`number`: {"phone", "as_of"}); {} for the others.
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, default=PENDING)
    rows = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    file_name = models.CharField(max_length=300, blank=True, default="")
    manifest = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=254, blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
