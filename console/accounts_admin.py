"""Staff sign-in to /admin/ through the sign-in page, with two-factor (CONTRACT §11).

When ADMIN_REQUIRE_TWO_FACTOR is on (read at each request), the admin's own login form is never
used: anonymous staff go to /login/ (allauth, with its lockout and two-factor step), staff without
two-factor to its set-up page, and a session that signed in without a code confirms one first.
"""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .two_factor import has_two_factor, session_used_two_factor


def _next_url(request) -> str:
    """Where the admin asked to return to, if it is a path of this site; else /admin/."""
    wanted = request.GET.get("next") or ""
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(wanted, allowed_hosts=None):
        return wanted
    return reverse("admin:index")


def require_two_factor_for(site) -> None:
    """Wrap an AdminSite's login and permission check with the two-factor rule."""
    admin_login, admin_permission = site.login, site.has_permission

    @wraps(admin_login)
    def login(request, extra_context=None):
        """The sign-in page (and its two-factor step) instead of the admin's password form."""
        if not settings.ADMIN_REQUIRE_TWO_FACTOR:
            return admin_login(request, extra_context)
        target = _next_url(request)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(target)
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("Only staff may use the admin.")
        if not has_two_factor(user):
            messages.info(request, "Staff sign-in to the admin requires two-factor: set it up.")
            return redirect("mfa_index")
        if not session_used_two_factor(request):
            return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': target})}")
        return redirect(target)

    def has_permission(request) -> bool:
        """The admin's own rule, and a session that passed two-factor when that is required."""
        if not admin_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_TWO_FACTOR or session_used_two_factor(request)

    site.login, site.has_permission = login, has_permission
