"""`demo_seed`: the demo workspace and staff login for `make run`, created once and reused.

The demo's secrets are kept in var/demo.json (git-ignored, mode 0600) so that a second
`make run` can print the same working token: tokens are stored hashed and cannot be shown again.
"""

import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from workspaces.models import ApiToken, Workspace
from workspaces.services import hash_secret


class Command(BaseCommand):
    help = "Create (or reuse) the demo workspace and staff user, and print their credentials."

    def handle(self, *args, **options):
        path = settings.VAR_DIR / "demo.json"
        demo = json.loads(path.read_text()) if path.exists() else {}
        if not self._still_valid(demo):
            demo = self._create()
            path.write_text(json.dumps(demo, indent=2))
            path.chmod(0o600)
        self._print(demo)

    def _still_valid(self, demo: dict) -> bool:
        if not demo or not Workspace.objects.filter(pk=demo["workspace"]["id"]).exists():
            return False
        token = ApiToken.objects.filter(secret_hash=hash_secret(demo["tokens"]["live"])).first()
        staff = get_user_model().objects.filter(username=demo["staff"]["username"]).first()
        return bool(
            token
            and token.revoked_at is None
            and staff
            and staff.check_password(demo["staff"]["password"])
        )

    def _create(self) -> dict:
        from io import StringIO

        out = StringIO()
        call_command(
            "create_workspace", name="Demo", owner_email="owner@demo.tern.test", stdout=out
        )
        demo = json.loads(out.getvalue())
        password = secrets.token_urlsafe(12)
        User = get_user_model()
        staff, _ = User.objects.get_or_create(
            username="staff", defaults={"email": "staff@tern.test"}
        )
        staff.is_staff = staff.is_superuser = True
        staff.set_password(password)
        staff.save()
        demo["staff"] = {"username": "staff", "password": password}
        return demo

    def _print(self, demo: dict) -> None:
        base = "http://127.0.0.1:8000"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Tern is starting on " + base,
                    f"  workspace   {demo['workspace']['slug']} ({demo['workspace']['id']})",
                    f"  live token  {demo['tokens']['live']}",
                    f"  test token  {demo['tokens']['test']}",
                    f"  sender      {demo['sender']}",
                    f"  staff login {base}/admin/  user {demo['staff']['username']}  "
                    f"password {demo['staff']['password']}",
                    f"  try         curl -H 'Authorization: Bearer {demo['tokens']['live']}' "
                    f"{base}/api/v1/workspace",
                    "",
                ]
            )
        )
