"""Response headers every page gets: Permissions-Policy and `Cache-Control: no-store`.

Static files never reach this middleware (whitenoise answers them earlier, with their own
long cache). Every other response is a page for a signed-in researcher, a panelist session or
a sign-in form, so none may be kept by a browser or a shared proxy: on a shared computer the
back button must not show the previous person's questionnaire or panel list.
"""

from django.conf import settings

# Nothing on the site needs the camera, the microphone, location, payment or similar.
DEFAULT_PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), "
    "fullscreen=(self), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), "
    "screen-wake-lock=(), sync-xhr=(), usb=(), xr-spatial-tracking=(), interest-cohort=()"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.policy)
        # A view that chose its own caching (none does today) keeps it; everything else is
        # private to the person who asked for it.
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


class MfaRequiredMiddleware:
    """With settings.MFA_REQUIRED, a signed-in account without a confirmed authenticator can
    reach only the set-up pages and sign-out until it has one.

    Costs nothing per request otherwise: `is_verified()` reads the session (django-otp's
    OTPMiddleware, which must come first).
    """

    ALLOWED = ("/accounts/", "/i18n/", "/static/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.MFA_REQUIRED
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(self.ALLOWED)
        ):
            from django.shortcuts import redirect

            return redirect("totp_setup")
        return self.get_response(request)
