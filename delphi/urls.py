from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from delphi.views import accounts

urlpatterns = [
    path("admin/login/", accounts.admin_login),
    path("admin/", admin.site.urls),
    path("accounts/login/", accounts.SignInView.as_view(), name="login"),
    path("accounts/login/code/", accounts.sign_in_code, name="login_code"),
    path("accounts/security/", accounts.account_security, name="account_security"),
    path("accounts/security/authenticator/", accounts.totp_setup, name="totp_setup"),
    path(
        "accounts/security/recovery-codes/",
        accounts.recovery_codes_regenerate,
        name="recovery_codes_regenerate",
    ),
    path("accounts/security/off/", accounts.mfa_off, name="mfa_off"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("delphi.urls_researcher")),
    path("", include("delphi.urls_results")),
    path("", include("delphi.urls_reports")),
    path("p/", include("delphi.urls_panelist")),
    path("", include("delphi.urls_invitations")),
]

handler400 = "delphi.views.errors.bad_request"
