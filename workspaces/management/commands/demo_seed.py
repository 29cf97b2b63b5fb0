"""`demo_seed`: the demo workspace and staff login for `make run`, created once and reused.

The demo's secrets are kept in var/demo.json (git-ignored, mode 0600) so that a second
`make run` can print the same working token: tokens are stored hashed and cannot be shown again.
"""

import json
import secrets
from io import StringIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from workspaces.models import ApiToken, Membership, Workspace
from workspaces.people import person_rename
from workspaces.scopes import CAMPAIGN_MANAGER, VIEWER
from workspaces.services import hash_secret, member_add

OWNER_EMAIL = "owner@demo.tern.test"
# The demo's console sign-ins besides the owner: (role, email, name).
DEMO_PEOPLE = [
    (CAMPAIGN_MANAGER, "manager@demo.tern.test", "Demo Campaign Manager"),
    (VIEWER, "viewer@demo.tern.test", "Demo Viewer"),
]


class Command(BaseCommand):
    help = "Create (or reuse) the demo workspace and staff user, and print their credentials."

    def handle(self, *args, **options):
        path = settings.VAR_DIR / "demo.json"
        demo = json.loads(path.read_text()) if path.exists() else {}
        if not self._still_valid(demo):
            demo = self._create()
            path.write_text(json.dumps(demo, indent=2))
            path.chmod(0o600)
        # A month of finished traffic, so the console's dashboard has every chart filled (a
        # second run adds nothing). Called by name: the command lives in messaging, above us.
        call_command("demo_traffic", demo["workspace"]["slug"], stdout=StringIO())
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
            and self._sign_ins_work(demo)
        )

    def _sign_ins_work(self, demo: dict) -> bool:
        """Each console sign-in is still a current member whose password is the one printed."""
        people = demo.get("console") or []
        for person in people:
            member = (
                Membership.objects.current()
                .filter(workspace_id=demo["workspace"]["id"], user__username=person["email"])
                .select_related("user")
                .first()
            )
            if member is None or not member.user.check_password(person["password"]):
                return False
        return len(people) == 1 + len(DEMO_PEOPLE)

    def _create(self) -> dict:
        out = StringIO()
        owner_password = secrets.token_urlsafe(12)
        call_command(
            "create_workspace",
            name="Demo",
            owner_email=OWNER_EMAIL,
            password=owner_password,
            stdout=out,
        )
        demo = json.loads(out.getvalue())
        demo["console"] = [{"role": "owner", "email": OWNER_EMAIL, "password": owner_password}]
        person_rename(user=get_user_model().objects.get(username=OWNER_EMAIL), name="Demo Owner")
        demo["console"] += self._people(demo["workspace"]["id"])
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

    def _people(self, workspace_id: str) -> list[dict]:
        """A demo campaign manager and a demo viewer, each with a password."""
        User, made = get_user_model(), []
        workspace = Workspace.objects.get(pk=workspace_id)
        for role, email, name in DEMO_PEOPLE:
            user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
            user.first_name, password = name, secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
            member_add(workspace=workspace, user=user, role=role)
            made.append({"role": role, "email": email, "password": password})
        return made

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
                    *[
                        f"  console     {base}/login/  {p['role']:<16}  {p['email']}  "
                        f"password {p['password']}"
                        for p in demo["console"]
                    ],
                    "  contacts    docs/sample-contacts.csv: sign in as the campaign manager, then "
                    "Contacts → Import contacts",
                    f"  try         curl -H 'Authorization: Bearer {demo['tokens']['live']}' "
                    f"{base}/api/v1/workspace",
                    "",
                ]
            )
        )
