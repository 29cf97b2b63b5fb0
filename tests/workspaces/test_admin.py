"""Staff see and change a workspace in the admin; every change is audited with the staff user."""

import pytest
from django.contrib.auth import get_user_model

from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    """A client logged in as a superuser."""
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@tern.test", "pw"))
    return client


def test_workspace_page_shows_spend_and_settings(staff_client, tenant):
    """Spend limit, month-to-date spend, countries, test mode, provider, verified recipients."""
    page = staff_client.get(f"/admin/workspaces/workspace/{tenant.workspace.pk}/change/")
    text = page.content.decode()
    assert page.status_code == 200
    for label in (
        "Spend limit",
        "month-to-date spend",
        "Allowed countries",
        "Test mode",
        "Provider",
        "Verified recipients",
    ):
        assert label.lower() in text.lower(), label


def test_a_staff_change_is_audited_with_the_staff_user(staff_client, tenant):
    """Setting the provider records before/after and who did it."""
    url = f"/admin/workspaces/workspace/{tenant.workspace.pk}/change/"
    page = staff_client.get(url)
    form, prefix = (
        page.context["adminform"].form,
        page.context["inline_admin_formsets"][0].formset.prefix,
    )
    data = {k: form.initial.get(k) for k in form.fields}
    data.update(
        provider="twilio",
        allowed_countries='["US"]',
        verified_recipients="[]",
        blocked_terms="[]",
        price_overrides="{}",
        spend_limit="",
    )
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = staff_client.post(url, data)
    assert response.status_code == 302
    tenant.workspace.refresh_from_db()
    assert tenant.workspace.provider == "twilio"
    event = (
        AuditEvent.objects.for_workspace(tenant.workspace)
        .filter(action="workspace.updated", actor_type="staff")
        .get()
    )
    assert event.after["provider"] == "twilio" and event.actor_label == "ops"
