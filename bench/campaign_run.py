"""Run inside the bench environment (`python -m bench.campaign_run KIND TAG`), KIND one of
`fanout`, `broker`, `pacing`, `fairness`: one campaign measurement in a workspace of its own.
Prints one JSON line."""

import json
import sys

import django

from .broker_pacing import broker, pacing
from .fairness import fairness
from .fanout import fanout


def main(kind: str, tag: str, *args: str) -> dict:
    """Set Django up and run one measurement."""
    django.setup()
    runs = {"fanout": fanout, "broker": broker, "pacing": pacing, "fairness": fairness}
    return runs[kind](tag, *(int(a) for a in args))


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
