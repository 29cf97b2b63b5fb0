"""Imported into a test worker (`celery worker --include tests.support.slow_simulator`): the
simulator answers as a real provider across a network would, some answers slowly, so a worker
killed mid-run can be caught mid-call after the provider took a message and before Tern heard
back — the case reconciliation exists for."""

import time

from messaging.providers.simulator.provider import SimulatorProvider

REQUEST_SECONDS = 0.02  # on the way out: the provider has nothing yet
SLOW_ANSWER_SECONDS = 1.0  # on the way back: the provider has it, Tern does not know yet
SLOW_ENDING = "5"  # one number in ten answers slowly; the rest keep the run quick

_send = SimulatorProvider.send


def _send_over_a_network(self, sms):
    """The simulator's send between two network delays."""
    time.sleep(REQUEST_SECONDS)
    accepted = _send(self, sms)
    if sms.to.endswith(SLOW_ENDING):
        time.sleep(SLOW_ANSWER_SECONDS)
    return accepted


SimulatorProvider.send = _send_over_a_network
