"""The panelist's cast: an open round with items, a panelist holding a live link, and a second
panelist (B) in another study, to check that A's session never reaches B."""

from datetime import timedelta

import pytest
from django.utils import timezone

from delphi.models import Round
from panels.models import Invitation
from panels.tokens import token_mint
from tests import factories as f


def make_link(panelist, *, status=Invitation.Status.SENT, days=30, **fields) -> str:
    """A live link for the panelist; returns the raw token."""
    raw, hashed = token_mint()
    Invitation.objects.create(
        panelist=panelist,
        token_hash=hashed,
        status=status,
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=days),
        **fields,
    )
    return raw


def open_round(study, *, n_items=6, n_domains=2, number=1, **fields):
    """An open rating round with n_items statements spread over n_domains domains."""
    domains = [f.make_domain(study, name=f"Domain {i + 1}", order=i) for i in range(n_domains)]
    statements = [
        f.make_statement(study, domain=domains[i % n_domains], order=i) for i in range(n_items)
    ]
    fields.setdefault("status", Round.Status.OPEN)
    fields.setdefault("opened_at", timezone.now())
    return f.make_round(study, number=number, statements=statements, **fields)


def sign_in(client, panelist, *, consented=True, profiled=True):
    from panels.models import Panelist

    now = timezone.now()
    Panelist.objects.filter(pk=panelist.pk).update(
        consented_at=now if consented else None,
        consent_version=1 if consented else None,
        profile_confirmed_at=now if profiled else None,
    )
    raw = make_link(panelist)
    response = client.get(f"/p/t/{raw}/")
    assert response.status_code == 302
    return client


@pytest.fixture
def rnd(study):
    return open_round(study)


@pytest.fixture
def panelist_client(client, panelist, rnd):
    return sign_in(client, panelist)


@pytest.fixture
def other_study(db):
    return f.make_study(title="Another study")


@pytest.fixture
def other_round(other_study):
    return open_round(other_study, n_items=3, n_domains=1)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The cast's users are created with passwords; PBKDF2 would dominate these tests' time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
