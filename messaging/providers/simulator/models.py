"""The simulator's ledger: every submission it was handed, as a real provider's records would be."""

from django.db import models


class SimulatorSubmission(models.Model):
    """One submission attempt (the fake carrier's own table, keyed by Tern's message id)."""

    message_id = models.CharField(max_length=40, db_index=True)
    provider_message_id = models.CharField(max_length=64, blank=True, default="")
    to_number = models.CharField(max_length=20)
    from_number = models.CharField(max_length=20)
    body = models.TextField()
    accepted = models.BooleanField()
    answer = models.CharField(max_length=40)
    # The scripted final report: sent by a countdown task, and again by the sweep if that was lost.
    final_status = models.CharField(max_length=12, blank=True, default="")
    final_code = models.CharField(max_length=8, blank=True, default="")
    reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        app_label = "messaging"
