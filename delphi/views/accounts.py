"""Researcher and admin accounts: sign-in (password, then a code when two-factor is on), the
account's security page (two-factor set-up, recovery codes, failed sign-ins), the lock-out page.

Failed passwords are counted by django-axes (per client and per account, settings.AXES_*);
wrong codes at the second step are reported to axes the same way, so guessing codes locks the
account too.
"""

import time
from urllib.parse import urlencode

from axes.models import AccessAttempt, AccessFailureLog
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from delphi.services import mfa

PENDING = "delphi_mfa_pending"
PENDING_SECONDS = 300  # the code step must follow the password within five minutes


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=20,
        help_text=gettext_lazy(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class SignInView(auth_views.LoginView):
    """Django's sign-in form; when the account has an authenticator, the password only leads
    to the code step (nobody is signed in until the code is right)."""

    def form_valid(self, form):
        user = form.get_user()
        if mfa.mfa_enabled(user):
            self.request.session[PENDING] = {
                "user": user.pk,
                "backend": user.backend,
                "next": self.get_success_url(),
                "at": time.time(),
            }
            return redirect("login_code")
        return super().form_valid(form)


def _pending_user(request):
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending


@require_http_methods(["GET", "POST"])
def sign_in_code(request):
    user, pending = _pending_user(request)
    if user is None:
        messages.info(request, _("Please sign in again."))
        return redirect("login")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = mfa.verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            request.session.pop(PENDING, None)
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            if device.__class__.__name__ == "StaticDevice":
                left = mfa.recovery_codes_left(user)
                messages.warning(
                    request,
                    _(
                        "You signed in with a recovery code; %(n)s left. Make new ones on "
                        "your account page if you are running short."
                    )
                    % {"n": left},
                )
            return redirect(pending["next"])
        # Counted like a wrong password: enough of them and axes locks the account.
        user_login_failed.send(
            sender=__name__,
            credentials={"username": user.get_username()},
            request=request,
        )
        form.add_error("code", _("That code is not right. Codes change every 30 seconds."))
    return render(request, "registration/login_code.html", {"form": form})


def lockout(request, credentials=None, *args, **kwargs):
    """django-axes' lock-out page (AXES_LOCKOUT_CALLABLE)."""
    return render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
        status=429,
    )


def admin_login(request):
    """The admin site signs in through the same page (throttled, two-factor)."""
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(reverse("login") + "?" + urlencode({"next": target}))


@login_required
def account_security(request):
    user = request.user
    username = user.get_username()
    context = {
        "mfa_on": mfa.mfa_enabled(user),
        "mfa_required": settings.MFA_REQUIRED,
        "codes_left": mfa.recovery_codes_left(user),
        "failures": AccessFailureLog.objects.filter(username=username).order_by("-attempt_time")[
            :20
        ],
        "failures_pending": sum(
            AccessAttempt.objects.filter(username=username).values_list(
                "failures_since_start", flat=True
            )
        ),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    return render(request, "registration/account_security.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request):
    user = request.user
    device = mfa.totp_pending(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        codes = mfa.totp_confirm(user=user, code=form.cleaned_data["code"])
        if codes is not None:
            confirmed = mfa.TOTPDevice.objects.get(pk=device.pk)
            otp_login(request, confirmed)
            return render(
                request, "registration/recovery_codes.html", {"codes": codes, "first": True}
            )
        form.add_error(
            "code",
            _(
                "That code is not right. Check that the phone's clock is set automatically, "
                "then type the code the app shows now."
            ),
        )
    context = {
        "form": form,
        "qr": mfa.totp_qr_data_uri(device),
        "secret": mfa.totp_secret(device),
        "replacing": mfa.mfa_enabled(user),
    }
    return render(request, "registration/totp_setup.html", context)


def _verified_or_refuse(request):
    if mfa.mfa_enabled(request.user) and not request.user.is_verified():
        messages.error(request, _("Sign in with your code first."))
        return redirect("account_security")
    return None


@login_required
@require_POST
def recovery_codes_regenerate(request):
    refused = _verified_or_refuse(request)
    if refused or not mfa.mfa_enabled(request.user):
        return refused or redirect("account_security")
    codes = mfa.recovery_codes_new(user=request.user)
    return render(request, "registration/recovery_codes.html", {"codes": codes, "first": False})


@login_required
@require_POST
def mfa_off(request):
    if settings.MFA_REQUIRED:
        messages.error(request, _("Two-factor sign-in is required on this site."))
        return redirect("account_security")
    refused = _verified_or_refuse(request)
    if refused:
        return refused
    mfa.mfa_disable(user=request.user)
    messages.success(request, _("Two-factor sign-in is off for your account."))
    return redirect("account_security")
