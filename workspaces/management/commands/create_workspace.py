"""`create_workspace --name NAME --owner-email EMAIL [--password P]`: a live workspace, tokens,
a sender, and either the owner's password (`--password`) or a one-time `owner_setup_url`."""

import json
import secrets

from django.core.management.base import BaseCommand

from workspaces.invitations import owner_setup_link
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
        parser.add_argument(
            "--password",
            default="",
            help="The owner's console password (otherwise a one-time set-up link is printed)",
        )

    def handle(self, *args, **options):
        result = workspace_bootstrap(
            name=options["name"],
            owner_email=options["owner_email"],
            sender_number=options["sender"] or free_demo_number(),
        )
        workspace, owner = result["workspace"], result["owner"]
        printed = {
            "workspace": {"id": workspace.id, "slug": workspace.slug},
            "tokens": result["tokens"],
            "sender": result["sender"].number,
        }
        if options["password"]:
            owner.set_password(options["password"])
            owner.save(update_fields=["password"])
        else:
            printed["owner_setup_url"] = owner_setup_link(workspace=workspace, owner=owner)
        self.stdout.write(json.dumps(printed))
