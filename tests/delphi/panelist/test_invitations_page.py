"""The researcher's invitations page: status per panelist, send, re-send, revoke."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delphi.celery import app as celery_app
from panels.models import Invitation
from tests import factories as f
from tests.delphi.panelist.conftest import make_link


@pytest.fixture(autouse=True)
def eager():
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def url(study, rnd, tail=""):
    return f"/studies/{study.uuid}/rounds/{rnd.uuid}/invitations/{tail}"


def test_outsider_gets_404_and_analyst_403_on_writes(
    client, outsider, analyst, study, rnd, panelist
):
    client.force_login(outsider)
    assert client.get(url(study, rnd)).status_code == 404
    assert client.post(url(study, rnd, "send/")).status_code == 404
    client.force_login(analyst)
    assert client.get(url(study, rnd)).status_code == 200
    assert client.post(url(study, rnd, "send/")).status_code == 403
    assert client.post(url(study, rnd, f"{panelist.uuid}/revoke/")).status_code == 403
    assert not Invitation.objects.exists()


def test_send_then_status_per_panelist(
    researcher_client, study, rnd, panelist, django_capture_on_commit_callbacks
):
    other = f.make_panelist(study)
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(url(study, rnd, "send/"))
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    body = researcher_client.get(url(study, rnd)).content.decode()
    assert "2 invited" in body and "0 submitted" in body
    assert panelist.public_id in body and other.public_id in body
    assert "Send invitations to everyone not yet invited (0)" in body


def test_resend_and_revoke(
    researcher_client, study, rnd, panelist, django_capture_on_commit_callbacks
):
    make_link(panelist)
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(url(study, rnd, f"{panelist.uuid}/resend/"))
    assert len(mail.outbox) == 1
    assert Invitation.objects.exclude(status="revoked").count() == 1
    researcher_client.post(url(study, rnd, f"{panelist.uuid}/revoke/"))
    assert not Invitation.objects.exclude(status="revoked").exists()


def test_panelist_of_another_study_is_404(researcher_client, study, rnd, other_study):
    stranger = f.make_panelist(other_study)
    response = researcher_client.post(url(study, rnd, f"{stranger.uuid}/revoke/"))
    assert response.status_code == 404


def _queries(client, study, rnd):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url(study, rnd)).status_code == 200
    return len(ctx.captured_queries)


def test_page_queries_are_flat_in_panel_size(researcher_client, study, rnd):
    for _ in range(3):
        make_link(f.make_panelist(study))
    small = _queries(researcher_client, study, rnd)
    for _ in range(30):
        make_link(f.make_panelist(study))
    assert _queries(researcher_client, study, rnd) == small


def test_round_2_does_not_count_round_1_links(researcher_client, study, rnd, panelist):
    """Before round 2's invitations go out, its page shows nothing invited or opened, even
    though every round-1 link was opened."""
    from datetime import timedelta

    from django.utils import timezone

    from delphi.models import Round

    for p in [panelist, f.make_panelist(study)]:
        make_link(p, opened_at=timezone.now() - timedelta(days=10))
    opened = timezone.now() - timedelta(days=12)
    Invitation.objects.update(created_at=opened + timedelta(minutes=1))
    Round.objects.filter(pk=rnd.pk).update(
        status="closed", opened_at=opened, closed_at=timezone.now()
    )
    from tests.delphi.panelist.conftest import open_round

    second = open_round(study, number=2)
    body = researcher_client.get(url(study, second)).content.decode()
    assert "0 invited · 0 opened · 0 started" in body
    body = researcher_client.get(url(study, rnd)).content.decode()
    assert "2 invited · 2 opened" in body


def test_search_and_pages_keep_counts_for_the_whole_panel(researcher_client, study, rnd):
    law = study.panel.groups.get(code="law")
    for i in range(105):
        make_link(f.make_panelist(study, group=law, email=f"officer{i}@police.example"))
    nurse = f.make_panelist(study, group=study.panel.groups.get(code="clinical"))
    small = _queries(researcher_client, study, rnd)
    page = researcher_client.get(url(study, rnd), {"q": "police", "group": "law"})
    assert page.context["page"].paginator.count == 105
    assert len(page.context["rows"]) == 100
    body = page.content.decode()
    assert "?page=2&amp;q=police&amp;group=law" in body
    assert "106 on the panel" in body  # the counts line is the whole panel's
    assert 'tabindex="0" role="region" aria-labelledby="h-invitations"' in body
    second = researcher_client.get(url(study, rnd), {"q": "police", "group": "law", "page": 2})
    assert len(second.context["rows"]) == 5
    found = researcher_client.get(url(study, rnd), {"q": nurse.public_id})
    assert [r["panelist"] for r in found.context["rows"]] == [nurse]
    # A page of 100 costs what a panel of 106 does.
    for _ in range(40):
        make_link(f.make_panelist(study, group=law))
    assert _queries(researcher_client, study, rnd) == small


def test_analysts_cannot_search_by_e_mail(client, analyst, study, rnd):
    f.make_panelist(study, email="hidden@example.org")
    client.force_login(analyst)
    page = client.get(url(study, rnd), {"q": "hidden"})
    assert page.context["rows"] == []
