"""Scripted outcomes by the recipient's last four digits (CONTRACT §5)."""

import json
import uuid

from django.db import transaction

from ...provider_log import exchange_record
from ..base import Accepted, LookupResult, OutboundSMS, Provider, TransientSubmissionError
from . import retention
from .models import SimulatorSubmission
from .reports import NAME, schedule_reports, sweep_simulator_reports

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


class SimulatorProvider(Provider):
    """A provider with no network: outcomes are scripted, and every submission is in the ledger."""

    name = NAME
    callback_urls = "messaging.providers.simulator.urls"

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

    def status_callback_url(self) -> str:
        """None: the simulator reports by itself, from the worker's send pool."""
        return ""

    def sweep(self) -> int:
        """Post again the final reports a killed worker lost."""
        return sweep_simulator_reports()

    def ready(self) -> None:
        """Its ledger is purged like the core's records."""
        retention.register()

    def _record(self, sms: OutboundSMS, *, accepted: bool, answer: str, **fields) -> None:
        """Note the submission in the ledger."""
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
    exchange_record(
        kind="request", method="POST", url=SIMULATOR_URL, headers=headers, body=json.dumps(request)
    )
    exchange_record(
        kind="response",
        method="POST",
        url=SIMULATOR_URL,
        status_code=status,
        headers=headers,
        body=json.dumps(answer),
    )
