"""Failed panelist-link exchanges: throttled per client and per link, and recorded (LinkFailure,
in the admin) without the raw token."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from delphi.models import LinkFailure
from panels.models import Invitation
from panels.tokens import token_hash
from tests import factories as f
from tests.delphi.panelist.conftest import make_link, open_round


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _from(address):
    return Client(REMOTE_ADDR=address)


def test_a_leaked_dead_link_tried_from_many_clients_is_refused_from_any(
    study, panelist, settings, caplog
):
    open_round(study)
    settings.LINK_TOKEN_FAILURE_LIMIT = 5
    raw = make_link(panelist)
    Invitation.objects.filter(token_hash=token_hash(raw)).update(
        created_at=timezone.now() - timedelta(days=10),
        expires_at=timezone.now() - timedelta(days=1),
    )
    for i in range(5):
        assert _from(f"198.51.100.{i + 1}").get(f"/p/t/{raw}/").status_code == 410
    refused = _from("198.51.100.99").get(f"/p/t/{raw}/")
    assert refused.status_code == 429
    assert "Please wait a few minutes" in refused.content.decode()
    # The clients themselves are not blocked: another link still works from them.
    assert _from("198.51.100.1").get(f"/p/t/{make_link(panelist)}/").status_code == 302
    rows = list(LinkFailure.objects.order_by("id"))
    assert [r.kind for r in rows] == ["expired"] * 5 + ["link_limit"]
    assert {r.token_prefix for r in rows} == {token_hash(raw)[:12]}
    assert [r.client for r in rows[:5]] == [f"198.51.100.{i + 1}" for i in range(5)]
    assert all(r.panelist_id == panelist.pk for r in rows[:5])
    assert "refused from any client" in caplog.text
    # No raw token in the record or the log.
    assert raw not in caplog.text
    assert not LinkFailure.objects.filter(token_prefix__in=[raw[:12]]).exists()


def test_guesses_from_one_client_are_recorded_up_to_its_limit(study, settings):
    settings.LINK_FAILURE_LIMIT = 4
    client = _from("203.0.113.7")
    for i in range(10):
        status = client.get(f"/p/t/guess-{i:04d}-aaaaaaaaaaaaaaaa/").status_code
        assert status == (404 if i < 4 else 429)
    kinds = list(LinkFailure.objects.order_by("id").values_list("kind", flat=True))
    # Refused requests beyond the limit write nothing: a scanner cannot fill the table.
    assert kinds == ["unknown"] * 4 + ["client_limit"]
    assert set(LinkFailure.objects.values_list("client", flat=True)) == {"203.0.113.7"}


def test_a_revoked_link_names_its_panelist_and_a_good_link_records_nothing(study, panelist):
    open_round(study)
    raw = make_link(panelist, status=Invitation.Status.REVOKED, revoked_at=timezone.now())
    assert _from("192.0.2.5").get(f"/p/t/{raw}/", HTTP_USER_AGENT="Scanner/1.0").status_code == 410
    row = LinkFailure.objects.get()
    assert (row.kind, row.panelist, row.user_agent) == ("revoked", panelist, "Scanner/1.0")
    assert _from("192.0.2.5").get(f"/p/t/{make_link(panelist)}/").status_code == 302
    assert LinkFailure.objects.count() == 1


def test_the_admin_lists_link_failures_read_only(client, study, panelist):
    _from("192.0.2.9").get("/p/t/nothing-here-aaaaaaaaaaaaaaaa/")
    client.force_login(f.make_user("site-admin", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:delphi_linkfailure_changelist"))
    assert page.status_code == 200
    assert "192.0.2.9" in page.content.decode()
    assert client.get(reverse("admin:delphi_linkfailure_add")).status_code == 403
