"""Links: token exchange, the friendly page for bad links, invitations by e-mail, unsubscribe."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from delphi.celery import app as celery_app
from delphi.services.invitations import (
    invitation_resend,
    invitation_revoke,
    invitations_send,
    unsubscribe_token,
)
from panels.models import Invitation, Panelist
from panels.tokens import token_hash
from tests import factories as f
from tests.delphi.panelist.conftest import make_link


@pytest.fixture
def eager():
    # Mail goes out from a Celery task; run it here so mail.outbox sees it, in both CI modes.
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def link_from(message) -> str:
    return next(w for w in message.body.split() if "/p/t/" in w)


def test_link_signs_in_and_leaves_the_address_bar(client, panelist, rnd):
    raw = make_link(panelist)
    response = client.get(f"/p/t/{raw}/")
    assert response.status_code == 302
    assert raw not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    invitation = Invitation.objects.get(panelist=panelist)
    assert invitation.status == Invitation.Status.OPENED
    assert invitation.opened_at is not None
    # The session, not the link, carries the panelist from now on.
    assert client.get("/p/consent/").status_code == 200


@pytest.mark.parametrize(
    "kind,status",
    [("unknown", 404), ("revoked", 410), ("expired", 410)],
)
def test_bad_links_get_one_friendly_page_that_reveals_nothing(
    client, study, panelist, kind, status
):
    raw = make_link(panelist)
    if kind == "unknown":
        raw = raw[:-4] + "abcd"
    elif kind == "revoked":
        Invitation.objects.update(status=Invitation.Status.REVOKED, revoked_at=timezone.now())
    else:
        Invitation.objects.update(
            created_at=timezone.now() - timedelta(days=10),
            expires_at=timezone.now() - timedelta(days=1),
        )
    response = client.get(f"/p/t/{raw}/")
    assert response.status_code == status
    body = response.content.decode()
    assert "To get a new link" in body
    assert study.title not in body
    assert panelist.public_id not in body
    assert "delphi_panelist" not in client.session


def test_no_session_gets_the_friendly_page(client, db):
    response = client.get("/p/")
    assert response.status_code == 403
    assert "To get a new link" in response.content.decode()


def test_revoking_a_link_ends_the_session_it_opened(panelist_client, panelist, study, researcher):
    assert panelist_client.get("/p/", follow=True).status_code == 200
    invitation_revoke(panelist=panelist, by=researcher, study=study)
    assert panelist_client.get("/p/").status_code == 403


def test_invitations_go_to_everyone_not_yet_invited(
    eager, django_capture_on_commit_callbacks, study, rnd, researcher
):
    active = f.make_panelist(study, email="ana@example.org")
    spanish = f.make_panelist(study, email="luis@example.org", language="es")
    f.make_panelist(
        study, email="gone@example.org", status="withdrawn", withdrawn_at=timezone.now()
    )
    f.make_panelist(study, email="quiet@example.org", unsubscribed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        sent = invitations_send(round=rnd, by=researcher)
    assert {i.panelist_id for i in sent} == {active.pk, spanish.pk}
    assert len(mail.outbox) == 2
    by_to = {m.to[0]: m for m in mail.outbox}
    english, castellano = by_to["ana@example.org"], by_to["luis@example.org"]
    assert "Round 1" in english.subject
    assert "La ronda 1" in castellano.subject
    assert "Su enlace personal" in castellano.body
    for message in (english, castellano):
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/p/unsubscribe/" in message.extra_headers["List-Unsubscribe"]
        assert message.alternatives[0][1] == "text/html"
    # Only the hash is stored; the mailed link works.
    raw = link_from(english).rsplit("/p/t/", 1)[1].strip("/")
    invitation = Invitation.objects.get(panelist=active)
    assert invitation.token_hash == token_hash(raw)
    assert invitation.status == Invitation.Status.SENT
    assert Client().get(link_from(english)).status_code == 302
    # Sending again for the same round invites nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_send(round=rnd, by=researcher) == []
    assert len(mail.outbox) == 2


def test_resend_mints_a_new_link_and_revokes_the_old(
    eager, django_capture_on_commit_callbacks, study, rnd, researcher, panelist
):
    with django_capture_on_commit_callbacks(execute=True):
        invitations_send(round=rnd, by=researcher)
    old = link_from(mail.outbox[-1])
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(round=rnd, panelist=panelist, by=researcher)
    new = link_from(mail.outbox[-1])
    assert old != new
    assert Client().get(old).status_code == 410
    assert Client().get(new).status_code == 302
    assert Invitation.objects.filter(panelist=panelist).exclude(status="revoked").count() == 1


def test_invitations_need_an_open_round(study, researcher):
    from django.core.exceptions import ValidationError

    draft = f.make_round(study)
    with pytest.raises(ValidationError):
        invitations_send(round=draft, by=researcher)


def test_one_click_unsubscribe_is_a_csrf_free_idempotent_post(study, panelist, rnd):
    client = Client(enforce_csrf_checks=True)
    url = f"/p/unsubscribe/{unsubscribe_token(panelist)}/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    first = Panelist.objects.get(pk=panelist.pk).unsubscribed_at
    assert first is not None
    assert client.post(url).status_code == 200
    panelist.refresh_from_db()
    assert panelist.unsubscribed_at == first
    # Unsubscribing is not withdrawing.
    assert panelist.status == Panelist.Status.ACTIVE


def test_unsubscribe_with_a_forged_token_changes_nothing(panelist):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/p/unsubscribe/not-a-real-token/").status_code == 404
    panelist.refresh_from_db()
    assert panelist.unsubscribed_at is None


def test_a_link_by_hand_replaces_the_old_one(client, panelist, rnd):
    from io import StringIO
    from urllib.parse import urlsplit

    from django.core.management import call_command

    old = make_link(panelist)
    out = StringIO()
    call_command("panelist_link", panelist.public_id, stdout=out)
    link = out.getvalue().strip()
    assert "/p/t/" in link
    assert Client().get(f"/p/t/{old}/").status_code == 410
    assert client.get(urlsplit(link).path).status_code == 302
