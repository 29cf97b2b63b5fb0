"""Hooks: a lower app's `Hooks` calls what the apps above registered, once each, in order."""

from campaigns.selectors import contact_timezone
from campaigns.services.lifecycle import campaign_gate
from campaigns.services.opt_out import campaign_opt_out
from messaging import hooks as messaging_hooks
from messaging.timeline import record_webhook_outcome
from webhooks.hooks import DELIVERY_FINISHED
from workspaces.hooks import Hooks


def test_registered_once_called_in_order():
    hooks = Hooks("test")
    first, second = (lambda: 1), (lambda: 2)
    for hook in (first, second, first):
        hooks.register(hook)
    assert [h() for h in hooks] == [1, 2]
    hooks.unregister(first)
    assert list(hooks) == [second] and len(hooks) == 1


def test_the_apps_above_plug_in_from_ready():
    assert list(messaging_hooks.TIMEZONE_LOOKUPS) == [contact_timezone]
    assert list(messaging_hooks.INBOUND_HANDLERS) == [campaign_opt_out]
    assert list(messaging_hooks.CAMPAIGN_GATES) == [campaign_gate]
    assert list(DELIVERY_FINISHED) == [record_webhook_outcome]
