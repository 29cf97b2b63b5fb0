"""How long the simulator's ledger is kept (CONTRACT §13), registered with the purge registry."""

from datetime import datetime

from workspaces.retention import days, register_purge

from .models import SimulatorSubmission


def simulator_ledger_due(now: datetime):
    """The simulator's submissions past RETENTION_SIMULATOR_LEDGER_DAYS."""
    cutoff = now - days("RETENTION_SIMULATOR_LEDGER_DAYS")
    return SimulatorSubmission.objects.filter(created_at__lt=cutoff)


def register() -> None:
    """Called from SimulatorProvider.ready()."""
    register_purge("messaging.simulator_ledger", simulator_ledger_due)
