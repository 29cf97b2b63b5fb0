"""The benchmarks by name, in the order `python -m bench` runs them: each takes the running
Server and a tag and returns one CONTRACT §1 result."""

from .api_benchmarks import send_api, send_batch, webhook_delivery
from .campaign_benchmarks import broker_per_recipient, fairness_broadcast, fanout_100k, pacing
from .console_benchmarks import console_pages
from .dashboard_benchmarks import dashboard
from .embedded_benchmarks import fairness_embedded
from .list_benchmarks import list_scale

BENCHMARKS = {
    "send_api": send_api,
    "send_batch": send_batch,
    "webhook_delivery": webhook_delivery,
    "fanout_100k": fanout_100k,
    "broker_per_recipient": broker_per_recipient,
    "pacing": pacing,
    "fairness_broadcast": fairness_broadcast,
    "fairness_embedded": fairness_embedded,
    "dashboard": dashboard,
    "list_scale": list_scale,
    "console_pages": console_pages,
}
