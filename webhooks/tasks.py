"""Thin tasks of the webhooks app."""

from celery import shared_task

from .services.delivery import delivery_attempt
from .services.sweeps import sweep_due_deliveries


@shared_task(
    name="webhooks.tasks.deliver_webhook", acks_late=True, time_limit=60, soft_time_limit=50
)
def deliver_webhook(delivery_id: str) -> None:
    """One attempt of one delivery (safe to run twice: the claim locks and leases the row)."""
    delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.sweep")
def sweep() -> None:
    """Beat: deliveries whose next attempt is due, or whose task was lost."""
    sweep_due_deliveries()
