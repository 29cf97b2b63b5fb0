"""Session and CSRF cookies are Secure exactly when PUBLIC_BASE_URL is https (CONTRACT §11)."""

import json
import subprocess
import sys

import pytest

from ..support.workers import ROOT

PROBE = (
    "import django; django.setup(); from django.conf import settings; import json; "
    "print(json.dumps([settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE]))"
)


def _secure_flags(public_base_url: str | None) -> list[bool]:
    """The two settings as a fresh process computes them from its environment."""
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"}
    if public_base_url is not None:
        env["PUBLIC_BASE_URL"] = public_base_url
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        (None, False),  # the embedded default: http://127.0.0.1:8000
        ("http://127.0.0.1:8000", False),
        ("http://tern.example.com", False),
        ("https://tern.example.com", True),
        ("HTTPS://Tern.Example.com/base", True),
    ],
)
def test_cookies_secure_only_over_https(url, secure):
    """Secure on https, not on http (a browser drops Secure cookies over http)."""
    assert _secure_flags(url) == [secure, secure]


@pytest.mark.django_db
def test_the_embedded_default_sets_cookies_a_browser_keeps_over_http(client):
    """On the default http URL the CSRF cookie of the sign-in page is not Secure."""
    response = client.get("/admin/login/")
    cookie = response.cookies.get("csrftoken")
    assert cookie is not None and not cookie["secure"]
