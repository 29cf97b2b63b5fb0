"""Thin tasks of campaigns: take ids, call a service. The modules below publish these by their
registered names (CampaignsConfig.ready() registers them), so none of them imports this one."""

from celery import shared_task

from .imports import recovery, run
from .services import pump


@shared_task(name="campaigns.tasks.contact_import_run", acks_late=True)
def contact_import_run(import_id: str) -> None:
    """Read an uploaded CSV of contacts and write its report (safe to run twice)."""
    run.contact_import_run(import_id=import_id)


@shared_task(name="campaigns.tasks.campaign_pump", acks_late=True)
def campaign_pump(campaign_id: str, token: str) -> None:
    """Book a running campaign's next window of slots and come back before it runs out."""
    pump.campaign_pump(campaign_id=campaign_id, token=token)


@shared_task(name="campaigns.tasks.sweep")
def sweep() -> None:
    """Beat: start scheduled campaigns whose time came; restart lost pumps and lost imports."""
    pump.campaigns_sweep()
    recovery.sweep_lost_imports()
