"""Accounts (CONTRACT §11) over HTTP: sign-in, lockout, two-factor, reset, sessions, admin."""

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from console.accounts_records import SignIn
from console.two_factor import has_two_factor
from tests.support.accounts import (
    PASSWORD,
    clean_cache,  # noqa: F401 (fixture)
    enable_two_factor,
    totp_code,
    with_password,
)
from workspaces.errors import spec

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_cache")]


def sign_in(client, email, password=PASSWORD, **extra):
    """POST the sign-in form."""
    return client.post("/login/", {"login": email, "password": password}, **extra)


@pytest.fixture
def owner(people):
    """Workspace A's owner, with a password."""
    return with_password(people[("A", "owner")])


def test_login_page_has_the_contract_labels_and_no_sign_up(client):
    page = client.get("/login/").content.decode()
    assert ">Email<" in page and ">Password<" in page and ">Sign in<" in page
    assert "sign up" not in page.lower()
    for path in ("/signup/", "/accounts/signup/", "/accounts/login/code/", "/accounts/email/"):
        assert client.get(path).status_code == 404, path


def test_sign_in_with_email_in_any_case_lands_on_the_workspace(client, owner, tenant):
    response = sign_in(client, owner.email.upper())
    assert response.status_code == 302 and response["Location"] == "/w/"
    assert client.get("/w/")["Location"] == f"/w/{tenant.workspace.slug}/"
    assert SignIn.objects.filter(user=owner).count() == 1


def test_wrong_password_and_unknown_email_read_the_same(client, owner):
    wrong = sign_in(client, owner.email, "nope").content.decode()
    unknown = sign_in(client, "nobody@example.test", "nope").content.decode()
    strip = lambda html: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)  # noqa: E731
    assert strip(wrong.replace(owner.email, "X")) == strip(
        unknown.replace("nobody@example.test", "X")
    )
    assert "do not match" in wrong


def test_ten_failures_lock_the_email_from_any_address_for_15_minutes(client, owner):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for i in range(10):
            sign_in(client, owner.email, "wrong", REMOTE_ADDR=f"10.0.0.{i + 1}")
        locked = sign_in(client, owner.email, REMOTE_ADDR="192.0.2.9")  # right password
        assert locked.status_code == 200 and "locked for 15 minutes" in locked.content.decode()
        clock.shift(timedelta(minutes=14))
        assert "locked" in sign_in(client, owner.email.upper()).content.decode()
        clock.shift(timedelta(minutes=1, seconds=5))
        assert sign_in(client, owner.email).status_code == 302


def test_an_unknown_email_locks_the_same_way(client, owner):
    for _ in range(10):
        sign_in(client, "ghost@example.test", "wrong")
    ghost = sign_in(client, "ghost@example.test", "wrong").content.decode()
    known = None
    for _ in range(10):
        sign_in(client, owner.email, "wrong")
    known = sign_in(client, owner.email, "wrong").content.decode()
    assert "locked for 15 minutes" in ghost and "locked for 15 minutes" in known
    # Another email is not locked by them.
    other = with_password(owner.__class__.objects.create(username="x@e.test", email="x@e.test"))
    assert sign_in(client, other.email).status_code == 302


def test_two_factor_step_accepts_a_totp_code_once(client, owner):
    secret, _ = enable_two_factor(owner)
    response = sign_in(client, owner.email)
    assert response["Location"] == "/login/two-factor/"
    page = client.get("/login/two-factor/").content.decode()
    assert ">Code<" in page and ">Verify<" in page
    code = totp_code(secret)
    assert client.post("/login/two-factor/", {"code": code}).status_code == 302
    assert client.get("/account/").status_code == 200
    assert SignIn.objects.get(user=owner).two_factor is True
    assert "<td>yes</td>" in client.get("/account/").content.decode()  # in recent sign-ins
    client.post("/logout/")
    sign_in(client, owner.email)
    again = client.post("/login/two-factor/", {"code": code})
    assert again.status_code == 200 and "Incorrect code" in again.content.decode()
    assert client.get("/account/").status_code == 302  # still not signed in


def test_a_recovery_code_works_once(client, owner):
    _, codes = enable_two_factor(owner)
    sign_in(client, owner.email)
    assert client.post("/login/two-factor/", {"code": codes[0]}).status_code == 302
    client.post("/logout/")
    sign_in(client, owner.email)
    assert client.post("/login/two-factor/", {"code": codes[0]}).status_code == 200
    assert client.post("/login/two-factor/", {"code": codes[1]}).status_code == 302


def test_set_up_two_factor_shows_secret_then_ten_recovery_codes(client, owner):
    client.force_login(owner)
    page = client.get("/account/two-factor/").content.decode()
    assert ">Code<" in page and ">Activate<" in page and "data:image/svg+xml" in page
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    # Shown in groups of four for typing; allauth's own secret once the spaces are gone.
    assert re.fullmatch(r"(?:[A-Z2-7]{4} )+[A-Z2-7]{1,4}", secret), secret
    assert secret.replace(" ", "") == client.session[SECRET_SESSION_KEY]
    code = totp_code(secret)
    response = client.post("/account/two-factor/", {"code": code})
    assert response["Location"] == "/account/two-factor/recovery-codes/"
    codes_page = client.get(response["Location"]).content.decode()
    assert len(re.findall(r"<li><code>\w+</code></li>", codes_page)) == 10
    assert has_two_factor(owner)
    # The activating code was spent: it cannot sign in a moment later.
    client.post("/logout/")
    sign_in(client, owner.email)
    assert client.post("/login/two-factor/", {"code": code}).status_code == 200


def test_remove_two_factor_asks_for_a_code_then_removes_it(client, owner):
    secret, _ = enable_two_factor(owner)
    client.force_login(owner)
    assert "/account/confirm/" in client.get("/account/two-factor/remove/")["Location"]
    client.post("/account/confirm/code/", {"code": totp_code(secret)})
    assert client.post("/account/two-factor/remove/").status_code == 302
    assert not has_two_factor(owner)


def test_password_reset_mail_link_works_within_an_hour_only(client, owner):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        response = client.post("/password-reset/", {"email": owner.email.upper()})
        assert response["Location"] == "/password-reset/sent/"
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [owner.email]
        link = re.search(r"https?://[^/]+(/password-reset/key/\S+/)", mail.outbox[0].body)[1]
        clock.shift(timedelta(minutes=61))
        expired = client.get(link, follow=True).content.decode()
        assert "expired" in expired
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        form_url = client.get(link)["Location"]
        done = client.post(
            form_url, {"password1": "a new password 42", "password2": "a new password 42"}
        )
        assert done["Location"] == "/password-reset/done/"
    assert sign_in(client, owner.email, "a new password 42").status_code == 302


def test_password_reset_for_an_unknown_email_reads_the_same(client):
    response = client.post("/password-reset/", {"email": "ghost@example.test"})
    assert response["Location"] == "/password-reset/sent/"


def test_session_expires_after_12_hours_idle(client, owner, tenant):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        sign_in(client, owner.email)
        clock.shift(timedelta(hours=11, minutes=59))
        assert client.get(f"/w/{tenant.workspace.slug}/").status_code == 200  # refreshes
        clock.shift(timedelta(hours=11, minutes=59))
        assert client.get(f"/w/{tenant.workspace.slug}/").status_code == 200
        clock.shift(timedelta(hours=12, minutes=1))
        assert client.get(f"/w/{tenant.workspace.slug}/")["Location"].startswith("/login/")


def _expiry(client):
    """The stored expiry of the client's session."""
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_session_refreshes_at_most_once_a_minute_and_never_on_polling(client, owner, tenant):
    page = f"/w/{tenant.workspace.slug}/"
    with time_machine.travel(timezone.now(), tick=False) as clock:
        sign_in(client, owner.email)
        first = _expiry(client)
        clock.shift(timedelta(seconds=30))
        client.get(page)
        assert _expiry(client) == first  # within the minute: not saved again
        clock.shift(timedelta(seconds=40))
        client.get(page, headers={"X-Tern-Poll": "1"})
        assert _expiry(client) == first  # polling never refreshes
        client.get(page)
        assert _expiry(client) > first
        assert _expiry(client) - timezone.now() == timedelta(hours=12)


def test_cookies_are_httponly_and_lax(client, owner):
    response = sign_in(client, owner.email)
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_account_page_lists_sessions_sign_ins_and_signs_out_everywhere(client, owner, tenant):
    other = client.__class__()
    sign_in(other, owner.email, HTTP_USER_AGENT="Other browser")
    sign_in(client, owner.email)
    page = client.get("/account/").content.decode()
    for text in (owner.email, "Change password", "Sign out everywhere", "Other browser"):
        assert text in page
    assert page.count("<td>127.0.0.1</td>") >= 2
    response = client.post("/account/sessions/end/")
    assert response["Location"] == "/login/"
    assert other.get(f"/w/{tenant.workspace.slug}/")["Location"].startswith("/login/")
    assert client.get("/account/")["Location"].startswith("/login/")


def test_account_page_edits_the_name_and_only_this_persons(client, owner, people):
    other = people[("B", "owner")]
    other.first_name = "Bea Other"
    other.save()
    client.force_login(owner)
    page = client.get("/account/").content.decode()
    assert '<label for="id_name">Name</label>' in page and ">Save</button>" in page
    assert 'name="csrfmiddlewaretoken"' in page
    response = client.post("/account/", {"name": "  Ada Lovelace  "})
    assert response.status_code == 302 and response["Location"] == "/account/"
    owner.refresh_from_db()
    other.refresh_from_db()
    assert owner.get_full_name() == "Ada Lovelace"
    assert other.get_full_name() == "Bea Other"
    page = client.get("/account/").content.decode()
    assert 'value="Ada Lovelace"' in page and "Name saved." in page
    # The header names the person by the new name on every page.
    assert ">Ada Lovelace</a>" in page


@pytest.mark.parametrize(("name", "says"), [("   ", "Enter your name."), ("x" * 151, "150")])
def test_a_blank_or_too_long_name_is_refused_with_the_catalogues_message(client, owner, name, says):
    client.force_login(owner)
    before = owner.get_full_name()
    response = client.post("/account/", {"name": name})
    assert response.status_code == 400
    page = response.content.decode().replace("&#x27;", "'")
    assert spec("validation_error").message in page and spec("validation_error").fix in page
    assert 'id="id_name_errors"' in page and says in page
    owner.refresh_from_db()
    assert owner.get_full_name() == before


def test_the_name_form_needs_csrf_and_a_sign_in(owner):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post("/account/", {"name": "Mallory"}).status_code == 403
    anonymous = Client().post("/account/", {"name": "Mallory"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    owner.refresh_from_db()
    assert owner.get_full_name() != "Mallory"


def test_logout_needs_post(client, owner):
    client.force_login(owner)
    assert client.get("/logout/").status_code == 200  # a page with the Sign out button
    assert client.get("/account/").status_code == 200
    assert client.post("/logout/")["Location"] == "/login/"
    assert client.get("/account/").status_code == 302


@pytest.fixture
def requiring_two_factor(tenant):
    """Workspace A requires two-factor."""
    from workspaces.models import Workspace

    Workspace.objects.filter(pk=tenant.workspace.pk).update(require_two_factor=True)
    return tenant


def test_require_two_factor_sends_a_member_without_it_to_set_up(
    client, people, requiring_two_factor, other_tenant
):
    viewer = people[("A", "viewer")]
    client.force_login(viewer)
    response = client.get(f"/w/{requiring_two_factor.workspace.slug}/")
    assert response["Location"] == "/account/two-factor/"
    enable_two_factor(viewer)
    assert client.get(f"/w/{requiring_two_factor.workspace.slug}/").status_code == 200


def test_require_two_factor_leaves_api_tokens_alone(client, requiring_two_factor):
    from tests.support.factories import token_for

    _, secret = token_for(requiring_two_factor.workspace, "owner")
    response = client.get("/api/v1/messages", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


@pytest.fixture
def staff():
    """A staff superuser with an email and a password."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("ops@tern.test", "ops@tern.test", PASSWORD)
    return user


@override_settings(ADMIN_REQUIRE_TWO_FACTOR=True)
def test_admin_requires_two_factor_when_the_setting_is_on(client, staff):
    login = client.get("/admin/login/?next=/admin/")
    assert login["Location"].startswith("/login/?next=/admin/")
    sign_in(client, staff.email)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/account/two-factor/"
    secret, _ = enable_two_factor(staff)
    assert client.get("/admin/login/?next=/admin/")["Location"].startswith("/account/confirm/code/")
    client.post("/logout/")
    sign_in(client, staff.email)
    client.post("/login/two-factor/", {"code": totp_code(secret)})
    assert client.get("/admin/").status_code == 200


@override_settings(ADMIN_REQUIRE_TWO_FACTOR=False)
def test_admin_keeps_its_password_form_when_the_setting_is_off(client, staff):
    assert client.get("/admin/login/").status_code == 200
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_sign_in_returns_to_the_page_asked_for(client, owner, tenant):
    page = f"/w/{tenant.workspace.slug}/"
    login_url = client.get(page)["Location"]
    assert login_url == f"/login/?next={page}"
    response = client.post(login_url, {"login": owner.email, "password": PASSWORD})
    assert response["Location"] == page


def test_allauth_default_paths_lead_to_the_contract_pages(client):
    assert client.get("/accounts/login/?next=/w/")["Location"] == "/login/?next=/w/"
    assert client.get("/accounts/password/reset/")["Location"] == "/password-reset/"
    assert client.get("/accounts/mfa/").status_code == 404


PROBE = (
    "import django; django.setup(); from django.conf import settings as s; import json; "
    "print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_FILE_PATH, s.CACHES['default']['BACKEND'], "
    "s.ADMIN_REQUIRE_TWO_FACTOR]))"
)


def _settings_with(**env):
    """Email, cache and admin settings as a fresh process computes them from its environment."""
    import json
    import subprocess
    import sys

    from tests.support.workers import ROOT

    base = {"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**base, **env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_embedded_default_mails_to_files_caches_in_files_and_admin_without_two_factor():
    backend, path, cache_backend, admin_2fa = _settings_with()
    assert backend.endswith("filebased.EmailBackend") and path.endswith("/var/mail")
    assert cache_backend.endswith("FileBasedCache") and admin_2fa is False


def test_services_setup_uses_email_url_redis_cache_and_admin_two_factor():
    backend, _, cache_backend, admin_2fa = _settings_with(
        EMAIL_URL="smtp://mailer:25",
        REDIS_URL="redis://127.0.0.1:6379/3",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/tern_accounts",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
    )
    assert backend.endswith("smtp.EmailBackend") and cache_backend.endswith("RedisCache")
    assert admin_2fa is True
