"""`create_workspace --name NAME --owner-email EMAIL`: a live workspace, tokens, a sender."""

import json
import secrets

from django.core.management.base import BaseCommand

from workspaces.models import Sender
from workspaces.services import workspace_bootstrap


def free_demo_number() -> str:
    """An unused number in the 555-01xx fictional range (US, valid for libphonenumber)."""
    for _ in range(1000):
        number = f"+1415555{secrets.randbelow(10000):04d}"
        if (
            number[-4:] not in {"0003", "0005", "0006", "0007", "0429", "0500"}
            and not Sender.objects.filter(number=number, removed_at=None).exists()
        ):
            return number
    raise RuntimeError("no free demo number left")


class Command(BaseCommand):
    help = "Create a live workspace with its owner, live and test tokens, and a default sender."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--sender", default="", help="E.164 number (default: a free demo one)")

    def handle(self, *args, **options):
        result = workspace_bootstrap(
            name=options["name"],
            owner_email=options["owner_email"],
            sender_number=options["sender"] or free_demo_number(),
        )
        workspace = result["workspace"]
        self.stdout.write(
            json.dumps(
                {
                    "workspace": {"id": workspace.id, "slug": workspace.slug},
                    "tokens": result["tokens"],
                    "sender": result["sender"].number,
                }
            )
        )
