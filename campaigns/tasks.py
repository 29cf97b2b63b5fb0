"""Thin tasks of campaigns: take ids, call a service."""

from celery import shared_task

from . import import_recovery, imports, services


@shared_task(name="campaigns.tasks.contact_import_run", acks_late=True)
def contact_import_run(import_id: str) -> None:
    """Read an uploaded CSV of contacts and write its report (safe to run twice)."""
    imports.contact_import_run(import_id=import_id)


@shared_task(name="campaigns.tasks.campaign_pump", acks_late=True)
def campaign_pump(campaign_id: str, token: str) -> None:
    """Book a running campaign's next window of slots and come back before it runs out."""
    services.campaign_pump(campaign_id=campaign_id, token=token)


@shared_task(name="campaigns.tasks.sweep")
def sweep() -> None:
    """Beat: start scheduled campaigns whose time came; restart lost pumps and lost imports."""
    services.campaigns_sweep()
    import_recovery.sweep_lost_imports()
