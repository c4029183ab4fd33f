"""Every kind of page carries the CSP, the Permissions-Policy and `Cache-Control: no-store`, and
no page needs inline script or style (so `script-src 'self'`, `style-src 'self'` holds)."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests import factories as f
from tests.delphi.panelist.conftest import open_round, sign_in

ROOT = Path(__file__).resolve().parents[2]
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def csp(response) -> dict:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_protected(response, *, html=True):
    policy = csp(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]
    assert "no-store" in response.headers["Cache-Control"]
    if html:
        body = response.content.decode()
        assert not INLINE_STYLE.search(body), INLINE_STYLE.search(body).group(0)
        assert not INLINE_SCRIPT.search(body), INLINE_SCRIPT.search(body).group(0)
        assert not INLINE_HANDLER.search(body), INLINE_HANDLER.search(body).group(0)


@pytest.mark.django_db
def test_sign_in_page(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_protected(response)


@pytest.mark.django_db
def test_researcher_pages(researcher_client, study):
    f.make_panelist(study)  # the panel page shows the recruitment bars
    for url in (
        "/",
        f"/studies/{study.uuid}/",
        f"/studies/{study.uuid}/panel/",
        f"/studies/{study.uuid}/framework/",
    ):
        response = researcher_client.get(url)
        assert response.status_code == 200, url
        assert_protected(response)


@pytest.mark.django_db
def test_results_page(researcher_client, study):
    rnd = open_round(study)
    response = researcher_client.get(f"/studies/{study.uuid}/rounds/{rnd.uuid}/results/")
    assert response.status_code in (200, 302)
    assert_protected(response, html=response.status_code == 200)


@pytest.mark.django_db
def test_panelist_pages(client, study, panelist):
    rnd = open_round(study)
    sign_in(client, panelist)
    page = client.get(f"/p/r/{rnd.uuid}/page/1/")
    assert page.status_code == 200
    assert_protected(page)
    assert b'class="scale' in page.content or b"btn-check" in page.content  # a real card
    saved = client.post(
        f"/p/r/{rnd.uuid}/autosave/",
        data=b"{}",
        content_type="application/json",
    )
    assert_protected(saved, html=False)


@pytest.mark.django_db
def test_the_link_exchange_and_a_dead_link(client, study, panelist):
    from tests.delphi.panelist.conftest import make_link

    open_round(study)
    response = client.get(f"/p/t/{make_link(panelist)}/")
    assert response.status_code == 302
    assert_protected(response, html=False)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    dead = client.get("/p/t/not-a-real-token-at-all/")
    assert dead.status_code == 404
    assert_protected(dead)


@pytest.mark.django_db
def test_admin_pages(client):
    admin = get_user_model().objects.create_superuser("site-admin", "a@example.org", "pw-123")
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert_protected(response, html=False)  # Django's own admin templates are not ours


def test_no_template_or_html_builder_needs_unsafe_inline():
    """The rule behind the header: our templates and Python HTML builders have no inline
    style, inline script or on* handler (e-mail templates are exempt: mail clients need
    inline style and no CSP applies there)."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        if "emails" in path.parts:
            continue
        text = path.read_text()
        for pattern in (INLINE_STYLE, INLINE_SCRIPT, INLINE_HANDLER):
            if pattern.search(text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern.search(text).group(0)}")
    for app in ("delphi", "panels", "competencies", "lib"):
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            if re.search(r"""style=\\?["']""", text) or INLINE_SCRIPT.search(text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
