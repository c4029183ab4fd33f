"""Two-factor sign-in for researcher, analyst and admin accounts (django-otp: TOTP and
recovery codes).

Optional per account; `settings.MFA_REQUIRED` makes it compulsory for every account (the
middleware sends a signed-in user without a confirmed authenticator to the set-up page).
Panelists never sign in: their link is their capability (docs/security.md).
"""

import base64

import segno
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def mfa_enabled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_pending(user) -> TOTPDevice:
    """The unconfirmed authenticator being set up (one per user, created on first visit)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The key as people type it into an app: base32, in groups of four."""
    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def totp_qr_data_uri(device: TOTPDevice) -> str:
    # An SVG data: URI in an <img>: no inline markup or style (CSP img-src allows data:).
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def _clean(code: str) -> str:
    return "".join((code or "").split()).lower()


@transaction.atomic
def totp_confirm(*, user, code: str) -> list[str] | None:
    """Confirm the pending authenticator with a code from the app; returns new recovery codes,
    or None when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(_clean(code)):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()  # one authenticator at a time
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_new(user=user)


@transaction.atomic
def recovery_codes_new(*, user) -> list[str]:
    """Ten new one-time recovery codes; any older ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(*, user, code: str):
    """The device that accepts `code` (the app's 6 digits, or a recovery code), or None.
    Each device throttles wrong codes itself (django-otp's growing delay)."""
    code = _clean(code)
    if not code:
        return None
    if code.isdigit():
        devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        devices = StaticDevice.objects.filter(user=user, confirmed=True)
    with transaction.atomic():
        for device in devices.select_for_update():
            if device.verify_token(code):
                return device
    return None


@transaction.atomic
def mfa_disable(*, user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
