"""Sign-ins and links are throttled; two-factor sign-in works end to end (stories as a user
meets them)."""

import re

import pytest
from axes.models import AccessFailureLog
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories as f
from tests.delphi.panelist.conftest import make_link, open_round

PASSWORD = "pw-for-tests-123"  # factories.make_user's


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    # django-otp also slows wrong codes down per device (1 s, 2 s, 4 s…); the stories below
    # type a right code just after a wrong one, so that delay is off here. Axes still counts.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    cache.clear()
    yield
    cache.clear()


def sign_in(client, username, password=PASSWORD, ip="127.0.0.1", url="/accounts/login/"):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- failed sign-ins -------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_even_with_the_right_one(client, researcher):
    for _ in range(4):
        assert sign_in(client, researcher.username, "wrong").status_code == 200
    locked = sign_in(client, researcher.username, "wrong")
    assert locked.status_code == 429
    assert "Sign-in paused" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()
    right = sign_in(client, researcher.username)
    assert right.status_code == 429
    assert not signed_in(client)


@pytest.mark.django_db
def test_the_account_is_locked_from_any_address(client, researcher):
    for i in range(5):
        sign_in(client, researcher.username, "wrong", ip=f"10.0.0.{i + 1}")
    assert sign_in(client, researcher.username, ip="10.9.9.9").status_code == 429
    assert not signed_in(client)


@pytest.mark.django_db
def test_one_client_guessing_many_accounts_is_locked(client, researcher):
    for i in range(5):
        sign_in(client, f"nobody-{i}", "wrong", ip="203.0.113.7")
    assert sign_in(client, researcher.username, ip="203.0.113.7").status_code == 429
    # Someone else, elsewhere, signs in as usual.
    other = client.__class__()
    assert sign_in(other, researcher.username, ip="198.51.100.2").status_code == 302
    assert signed_in(other)


@pytest.mark.django_db
def test_a_success_clears_the_count(client, researcher):
    for _ in range(4):
        sign_in(client, researcher.username, "wrong")
    assert sign_in(client, researcher.username).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(4):
        assert sign_in(client, researcher.username, "wrong").status_code == 200


@pytest.mark.django_db
def test_the_admin_signs_in_through_the_same_throttled_page(client):
    admin = get_user_model().objects.create_superuser("site-admin", "a@example.org", PASSWORD)
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=%2Fadmin%2F")
    # A password posted to the admin's old form signs nobody in.
    sign_in(client, admin.username, url="/admin/login/")
    assert not signed_in(client)
    for _ in range(5):
        sign_in(client, admin.username, "wrong")
    assert sign_in(client, admin.username).status_code == 429
    assert not signed_in(client)


@pytest.mark.django_db
def test_the_researcher_sees_failed_sign_ins_on_their_account_page(client, researcher):
    sign_in(client, researcher.username, "wrong", ip="192.0.2.44")
    assert AccessFailureLog.objects.filter(username=researcher.username).count() == 1
    assert sign_in(client, researcher.username).status_code == 302
    page = client.get("/accounts/security/").content.decode()
    assert "192.0.2.44" in page
    assert "Failed sign-ins to this account" in page


@pytest.mark.django_db
def test_client_address_comes_from_the_trusted_proxy_only(client, researcher, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for i in range(5):
        client.post(
            "/accounts/login/",
            {"username": f"x{i}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",  # the proxy
            HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 203.0.113.9",  # a forged entry, then the real one
        )
    response = client.post(
        "/accounts/login/",
        {"username": researcher.username, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9",
    )
    assert response.status_code == 429  # the forged left-hand entries did not help


# --- failed link exchanges -----------------------------------------------------------------


@pytest.mark.django_db
def test_guessing_links_is_throttled_per_client(client, study, panelist, settings):
    open_round(study)
    settings.LINK_FAILURE_LIMIT = 20
    for i in range(20):
        assert client.get(f"/p/t/guess-{i:04d}-aaaaaaaaaaaaaaaa/").status_code == 404
    good = make_link(panelist)
    blocked = client.get(f"/p/t/{good}/")
    assert blocked.status_code == 429
    assert "Please wait a few minutes" in blocked.content.decode()
    assert "delphi_panelist" not in client.session
    # Another client (another panelist's phone) is not affected.
    other = client.__class__(REMOTE_ADDR="198.51.100.20")
    assert other.get(f"/p/t/{good}/").status_code == 302


@pytest.mark.django_db
def test_working_links_do_not_count(client, study, panelist, settings):
    open_round(study)
    settings.LINK_FAILURE_LIMIT = 3
    for _ in range(5):
        assert client.get(f"/p/t/{make_link(panelist)}/").status_code == 302


# --- two-factor sign-in ----------------------------------------------------------------------


def code_for(device, steps_ahead=0):
    device.refresh_from_db()
    code = totp(device.bin_key, step=device.step, t0=device.t0, drift=steps_ahead)
    return f"{code:06d}"


def enable_mfa(client, user) -> list[str]:
    client.force_login(user)
    page = client.get("/accounts/security/authenticator/")
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # the QR code
    secret = re.search(r'user-select-all">([A-Z2-7 ]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert secret.replace(" ", "") in __import__("base64").b32encode(device.bin_key).decode()
    wrong = client.post("/accounts/security/authenticator/", {"code": "000000"})
    assert "That code is not right" in wrong.content.decode()
    done = client.post("/accounts/security/authenticator/", {"code": code_for(device)})
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    client.post("/accounts/logout/")
    return codes


@pytest.mark.django_db
def test_totp_sign_in(client, researcher):
    enable_mfa(client, researcher)
    step_one = sign_in(client, researcher.username)
    assert step_one.status_code == 302 and step_one["Location"] == "/accounts/login/code/"
    assert not signed_in(client)  # the password alone signs nobody in
    assert client.get("/").status_code == 302  # the dashboard still wants a sign-in
    wrong = client.post("/accounts/login/code/", {"code": "123456"})
    assert "That code is not right" in wrong.content.decode()
    assert not signed_in(client)
    device = TOTPDevice.objects.get(user=researcher)
    right = client.post("/accounts/login/code/", {"code": code_for(device, steps_ahead=1)})
    assert right.status_code == 302 and right["Location"] == "/"
    assert signed_in(client)
    assert client.session.get("otp_device_id")
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_recovery_code_works_once(client, researcher):
    codes = enable_mfa(client, researcher)
    sign_in(client, researcher.username)
    assert client.post("/accounts/login/code/", {"code": codes[0]}).status_code == 302
    assert signed_in(client)
    assert StaticToken.objects.filter(device__user=researcher).count() == 9
    client.post("/accounts/logout/")
    sign_in(client, researcher.username)
    again = client.post("/accounts/login/code/", {"code": codes[0]})
    assert again.status_code == 200 and not signed_in(client)


@pytest.mark.django_db
def test_guessing_codes_locks_the_account(client, researcher):
    enable_mfa(client, researcher)
    sign_in(client, researcher.username)
    statuses = [
        client.post("/accounts/login/code/", {"code": f"{i:06d}"}).status_code for i in range(5)
    ]
    assert statuses[-1] == 429
    assert sign_in(client, researcher.username).status_code == 429


@pytest.mark.django_db
def test_required_site_wide_sends_accounts_to_set_up(client, researcher, study, settings):
    settings.MFA_REQUIRED = True
    client.force_login(researcher)
    response = client.get(f"/studies/{study.uuid}/")
    assert (
        response.status_code == 302 and response["Location"] == "/accounts/security/authenticator/"
    )
    assert client.get("/accounts/security/").status_code == 200
    assert client.get("/accounts/security/authenticator/").status_code == 200
    device = TOTPDevice.objects.get(user=researcher, confirmed=False)
    client.post("/accounts/security/authenticator/", {"code": code_for(device)})
    assert client.get(f"/studies/{study.uuid}/").status_code == 200  # this session is verified
    # Turning it off is refused while the site requires it.
    client.post("/accounts/security/off/")
    assert TOTPDevice.objects.filter(user=researcher, confirmed=True).exists()


@pytest.mark.django_db
def test_optional_by_default_and_can_be_turned_off(client, researcher):
    client.force_login(researcher)
    assert client.get("/").status_code == 200  # no device, not required: fine
    codes = enable_mfa(client, researcher)
    sign_in(client, researcher.username)
    client.post("/accounts/login/code/", {"code": codes[1]})
    client.post("/accounts/security/off/")
    assert not TOTPDevice.objects.filter(user=researcher).exists()
    client.post("/accounts/logout/")
    assert sign_in(client, researcher.username)["Location"] == "/"


def test_factories_password_matches():
    assert f.make_user.__kwdefaults__["password"] == PASSWORD
