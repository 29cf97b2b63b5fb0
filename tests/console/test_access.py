"""The console's one door: seats, roles, and a form posted after the session ended."""

import pytest
from django.test import Client

from console.access import SESSION_ENDED


def test_a_form_posted_after_the_session_ended_says_so(tenant):
    client = Client()
    response = client.post(f"/w/{tenant.workspace.slug}/test-data/", {"test": "1"}, follow=False)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    stored = list(response.wsgi_request._messages)
    assert [str(m) for m in stored] == [SESSION_ENDED]


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_test_data_switch_is_per_workspace(role, tenant, other_tenant, people):
    from workspaces.services import member_add

    user = people[("A", role)]
    member_add(workspace=other_tenant.workspace, user=user, role="viewer")
    client = Client()
    client.force_login(user)
    client.post(f"/w/{tenant.workspace.slug}/test-data/", {"test": "1"})
    assert client.get(f"/w/{tenant.workspace.slug}/").context["seat"].is_test is True
    assert client.get(f"/w/{other_tenant.workspace.slug}/").context["seat"].is_test is False


def test_test_data_switch_never_redirects_off_the_workspace(tenant, people):
    client = Client()
    client.force_login(people[("A", "owner")])
    for target in ("https://evil.example/", "//evil.example/", f"/w/{tenant.workspace.slug}//x"):
        response = client.post(
            f"/w/{tenant.workspace.slug}/test-data/", {"test": "1", "next": target}
        )
        assert response["Location"] == f"/w/{tenant.workspace.slug}/"


def test_api_requests_never_start_or_refresh_a_session(tenant):
    """A bearer-token request is not a browser: no session row, no session cookie."""
    from django.conf import settings as django_settings
    from django.contrib.sessions.models import Session

    client = tenant.client("owner")
    for path in ("/api/v1/workspace", "/api/v1/messages"):
        response = client.get(path)
        assert response.status_code == 200
        assert django_settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.count() == 0
