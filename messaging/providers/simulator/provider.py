"""Scripted outcomes by the recipient's last four digits (CONTRACT §5)."""

import json
import time
import uuid
from datetime import timedelta

from django.db import transaction

from workspaces import clock

from ...provider_log import exchange_record
from ..base import Accepted, LookupResult, OutboundSMS, Provider, TransientSubmissionError
from .models import SimulatorSubmission

# last four digits → (final status, error code); reported a second or two after acceptance.
OUTCOMES = {
    "0003": ("failed", "30003"),
    "0005": ("undelivered", "30005"),
    "0006": ("undelivered", "30006"),
    "0007": ("failed", "30007"),
}
# Numbers whose first submission is refused with this HTTP status, then accepted.
FIRST_ATTEMPT_REFUSED = {"0429": "429", "0500": "500"}
SIMULATOR_URL = "simulator:///messages"  # no network: the log names the simulator as the far end
REPORT_DELAY = 2  # seconds until the `sent` report and the final one, posted one after the other


class SimulatorProvider(Provider):
    """A provider with no network: outcomes are scripted, and every submission is in the ledger."""

    name = "simulator"

    def send(self, sms: OutboundSMS) -> Accepted:
        """Accept (and schedule the scripted reports), or refuse a first attempt on 0429/0500."""
        ending = sms.to[-4:]
        refused = FIRST_ATTEMPT_REFUSED.get(ending)
        if refused and not SimulatorSubmission.objects.filter(message_id=sms.message_id).exists():
            self._record(sms, accepted=False, answer=refused)
            _log_exchange(sms, int(refused), {"status": int(refused)})
            raise TransientSubmissionError(f"simulated HTTP {refused}", provider_code=refused)
        sid = f"SIM{uuid.uuid4().hex}"
        status, code = OUTCOMES.get(ending, ("delivered", None))
        self._record(
            sms,
            accepted=True,
            answer="accepted",
            provider_message_id=sid,
            final_status=status,
            final_code=code or "",
        )
        _log_exchange(sms, 201, {"sid": sid, "status": "accepted"})
        transaction.on_commit(lambda: schedule_reports(sid, status, code))
        return Accepted(provider_message_id=sid, raw={"sid": sid})

    def lookup(self, message_id: str) -> LookupResult:
        """What the ledger knows: an accepted submission, or certainly none."""
        hit = SimulatorSubmission.objects.filter(message_id=message_id, accepted=True).first()
        if hit is None:
            return LookupResult(found=False)
        return LookupResult(found=True, provider_message_id=hit.provider_message_id, status="sent")

    def _record(self, sms: OutboundSMS, *, accepted: bool, answer: str, **fields) -> None:
        SimulatorSubmission.objects.create(
            message_id=sms.message_id,
            to_number=sms.to,
            from_number=sms.from_,
            body=sms.body,
            accepted=accepted,
            answer=answer,
            **fields,
        )


def _log_exchange(sms: OutboundSMS, status: int, answer: dict) -> None:
    """The provider log's view of a submission, as if it had gone over HTTP."""
    request = {"to": sms.to, "from": sms.from_, "body": sms.body}
    headers = {"Content-Type": "application/json"}
    exchange_record(kind="request", method="POST", url=SIMULATOR_URL, headers=headers,
                    body=json.dumps(request))  # fmt: skip
    exchange_record(kind="response", method="POST", url=SIMULATOR_URL, status_code=status,
                    headers=headers, body=json.dumps(answer))  # fmt: skip


def schedule_reports(sid: str, status: str, code: str | None) -> None:
    """Report `sent`, then the final status, from this worker's pool like a provider's callbacks.

    A report lost with its process is posted again by the sweep (`overdue_reports`).
    """
    from ...sending import scheduler
    from ...services import simulator_reports_apply

    scheduler().call_at(
        time.time() + REPORT_DELAY,
        lambda: simulator_reports_apply(status=status, provider_message_id=sid, error_code=code),
    )


def mark_reported(provider_message_id: str) -> None:
    """The final report went out: the sweep need not send it again."""
    SimulatorSubmission.objects.filter(provider_message_id=provider_message_id).update(
        reported_at=clock.now()
    )


def overdue_reports(*, older_than: timedelta = timedelta(seconds=30), limit: int = 500):
    """Final reports whose task was lost (a killed worker): (sid, status, code) to send again."""
    rows = SimulatorSubmission.objects.filter(
        accepted=True, reported_at=None, created_at__lte=clock.now() - older_than
    )
    return [(r.provider_message_id, r.final_status, r.final_code or None) for r in rows[:limit]]
