"""The Celery app, config.celery:app; its settings are the CELERY_* names in config.settings."""

import os

from celery import Celery
from celery.beat import PersistentScheduler

from . import broker  # noqa: F401 - registers the embedded default's folder:// transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tern")
app.config_from_object("django.conf:settings", namespace="CELERY")


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler, recording a heartbeat so /healthz can tell a stale scheduler."""

    def tick(self, *args, **kwargs):
        """Record the heartbeat (at most every 10 s), then schedule as usual."""
        from workspaces.services import heartbeat_record

        heartbeat_record(name="scheduler", throttle_seconds=10)
        return super().tick(*args, **kwargs)


app.autodiscover_tasks()
