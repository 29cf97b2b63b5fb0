"""`create_workspace`'s owner set-up link or `--password`, and `demo_seed`'s console sign-ins
(CONTRACT §11): each printed credential works, and a second run prints working ones again."""

import json
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from workspaces.models import Membership

pytestmark = pytest.mark.django_db


def _create(**options) -> dict:
    out = StringIO()
    call_command(
        "create_workspace", name="Acme", owner_email="Ops@Acme.test", stdout=out, **options
    )
    return json.loads(out.getvalue())


def test_the_owner_setup_link_sets_name_and_password_once():
    result = _create()
    path = re.search(r"(/join/[^/]+/)$", result["owner_setup_url"]).group(1)
    client = Client()
    page = client.get(path).content.decode()
    assert ">Name<" in page and ">Password<" in page and ">Save<" in page
    response = client.post(path, {"name": "Ops Lead", "password": "a long passphrase"})
    assert response["Location"] == f"/w/{result['workspace']['slug']}/"
    owner = get_user_model().objects.get(username="Ops@Acme.test")
    assert owner.check_password("a long passphrase") and owner.first_name == "Ops Lead"
    again = Client().get(path).content.decode()
    assert "accepted" in again and ">Save<" not in again
    refused = Client().post(path, {"name": "X", "password": "another passphrase"})
    assert "accepted" in refused.content.decode()
    owner.refresh_from_db()
    assert owner.check_password("a long passphrase")


def test_password_option_sets_it_and_prints_no_link():
    result = _create(password="a chosen passphrase")
    assert "owner_setup_url" not in result
    owner = get_user_model().objects.get(username="Ops@Acme.test")
    assert owner.check_password("a chosen passphrase")


def _seed() -> str:
    out = StringIO()
    call_command("demo_seed", stdout=out)
    return out.getvalue()


def test_demo_seed_prints_three_working_sign_ins_and_reuses_them(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = _seed()
    sign_ins = re.findall(r"console .*?  (\w+)\s+(\S+@\S+)  password (\S+)", first)
    assert [role for role, _, _ in sign_ins] == ["owner", "campaign_manager", "viewer"]
    for role, email, password in sign_ins:
        user = get_user_model().objects.get(username=email)
        assert user.check_password(password)
        assert Membership.objects.current().get(user=user).role == role
        assert Client().login(username=email, password=password)
    assert _seed() == first  # the second `make run` prints the same, still working
