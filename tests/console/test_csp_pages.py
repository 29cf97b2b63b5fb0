"""The site-wide Content-Security-Policy leaves the API docs and the admin working (issue 13)."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def _csp_complaints(page) -> list[str]:
    found = []
    page.on(
        "console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None
    )
    return found


def test_api_docs_render_under_the_csp(browser_context):
    page = browser_context().new_page()
    complaints = _csp_complaints(page)
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_text("/api/v1/messages", exact=True).first.wait_for()
    assert complaints == []


def test_admin_sign_in_renders_under_the_csp(browser_context):
    page = browser_context().new_page()
    complaints = _csp_complaints(page)
    page.goto("/admin/login/")
    page.get_by_label("Password").wait_for()  # the admin's own form, or the console's sign-in
    assert complaints == []
