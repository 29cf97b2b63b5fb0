"""Contacts, their imports, message templates and campaigns."""

from django.db import models

from workspaces.ids import PrefixedIdField
from workspaces.models import ModeScopedModel, WorkspaceScopedModel

# Documented bounds of a contact's attributes (the API's schema and the import's mapping show them).
ATTRIBUTES_MAX_KEYS, ATTRIBUTE_KEY_MAX, ATTRIBUTES_MAX_BYTES = 50, 64, 4096


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
        # The console's list pages contacts newest first (the API's cursor order).
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_ws_created")
        ]


class Template(WorkspaceScopedModel):
    """A message body with merge fields, e.g. `Hi {{first_name|there}}`."""

    id = PrefixedIdField("tpl")
    name = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)


class ContactImport(WorkspaceScopedModel):
    """A CSV of contacts, imported on the worker; its report names every row it refused."""

    PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"
    # Uploaded in the console, waiting for its columns' mapping: no run, no sweep, not in the API.
    STAGED = "staged"

    id = PrefixedIdField("imp")
    status = models.CharField(max_length=10, default=PENDING)
    file_name = models.CharField(max_length=300)
    tags = models.JSONField(default=list, blank=True)
    consent_disclosure = models.TextField(blank=True, default="")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=254, blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)
    # The run in charge (empty: up for grabs) and until when; renewed as each batch commits.
    lease_token = models.CharField(max_length=32, blank=True, default="")
    leased_until = models.DateTimeField(null=True, blank=True)
    # Committed with each batch: the file's last row it covers, and how many rows were refused.
    progress_row = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    # The header's cells as written, and what each column becomes (`imports.mapping`): empty for
    # an API import without `columns`, which reads the contract's columns by name.
    header = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=list, blank=True)
    # The progress bar: records after the header (counted once, at upload), and those read so far
    # (committed with each batch's checkpoint).
    rows_total = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)


class Campaign(ModeScopedModel):
    """A broadcast of one body to an audience of contacts, from one sender."""

    DRAFT, SCHEDULED, RUNNING, PAUSED = "draft", "scheduled", "running", "paused"
    COMPLETED, STOPPED = "completed", "stopped"

    id = PrefixedIdField("cmp")
    name = models.CharField(max_length=200)
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.PROTECT)
    body = models.TextField(blank=True, default="")
    audience = models.JSONField(default=dict)
    from_number = models.CharField(max_length=20)
    send_at = models.DateTimeField(null=True, blank=True)
    throttle_per_minute = models.PositiveIntegerField(null=True, blank=True)
    opt_out_keywords = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, default=DRAFT, db_index=True)
    # Set once, by the fan-out: how many contacts were in the audience, and who was skipped why.
    recipients = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=dict, blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    # The pump chain now in charge (an older chain stops at its next turn) and when it is due.
    pump_token = models.CharField(max_length=40, blank=True, default="")
    pump_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The Campaigns page and GET /api/v1/campaigns: newest first, cursor-paged, per mode.
        indexes = [
            models.Index(
                fields=["workspace", "test", "-created_at", "-id"], name="campaign_ws_created"
            )
        ]


class CampaignSkip(WorkspaceScopedModel):
    """A contact of the audience the campaign did not message, and the catalogue code why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="skips")
    contact_id = models.CharField(max_length=40)
    phone = models.CharField(max_length=20)
    code = models.CharField(max_length=40)
