"""Sign-in, password reset, /account/ and two-factor at CONTRACT §11's paths, on allauth's views.

Mounted at the site's root. allauth's own /accounts/… URLs are never mounted: each view it needs is
here under the name allauth reverses, so nothing it redirects to is left at its default path, and
there is no sign-up page.
"""

from allauth.account import views as account
from allauth.mfa.base import views as mfa
from allauth.mfa.recovery_codes import views as codes
from allauth.mfa.totp import views as totp
from django.urls import path, re_path
from django.views.generic import RedirectView

from . import accounts_views as views

urlpatterns = [
    path("login/", account.login, name="account_login"),
    path("login/two-factor/", mfa.authenticate, name="mfa_authenticate"),
    path("logout/", account.logout, name="account_logout"),
    path("password-reset/", account.password_reset, name="account_reset_password"),
    path("password-reset/sent/", account.password_reset_done, name="account_reset_password_done"),
    re_path(
        r"^password-reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        account.password_reset_from_key,
        name="account_reset_password_from_key",
    ),
    path(
        "password-reset/done/",
        account.password_reset_from_key_done,
        name="account_reset_password_from_key_done",
    ),
    path("account/", views.account, name="account"),
    path("account/inactive/", account.account_inactive, name="account_inactive"),
    path("account/password/", account.password_change, name="account_change_password"),
    path("account/password/set/", account.password_set, name="account_set_password"),
    path("account/confirm/", account.reauthenticate, name="account_reauthenticate"),
    path("account/confirm/code/", mfa.reauthenticate, name="mfa_reauthenticate"),
    path("account/sessions/", RedirectView.as_view(url="/account/"), name="usersessions_list"),
    path("account/sessions/end/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("account/two-factor/", views.two_factor, name="mfa_index"),
    # allauth reverses these two names; /account/two-factor/ serves set-up itself.
    path("account/two-factor/", views.two_factor, name="mfa_activate_totp"),
    path("account/two-factor/remove/", totp.deactivate_totp, name="mfa_deactivate_totp"),
    path(
        "account/two-factor/recovery-codes/",
        codes.view_recovery_codes,
        name="mfa_view_recovery_codes",
    ),
    path(
        "account/two-factor/recovery-codes/new/",
        codes.generate_recovery_codes,
        name="mfa_generate_recovery_codes",
    ),
    path(
        "account/two-factor/recovery-codes/download/",
        codes.download_recovery_codes,
        name="mfa_download_recovery_codes",
    ),
    # Old habits: allauth's default prefix sends people to the contract's pages.
    path("accounts/login/", RedirectView.as_view(url="/login/", query_string=True)),
    path("accounts/password/reset/", RedirectView.as_view(url="/password-reset/")),
]
