"""The researcher's side: quorum on the protocol form, and "Close round now" confirmation."""

import pytest
from django.urls import reverse

from delphi.models import Deviation, Round, Study
from tests.delphi.lifecycle import world
from tests.delphi.test_protocol_lock import protocol_payload


def test_quorum_fields_save_on_the_protocol(study, researcher_client):
    url = reverse("study_protocol", kwargs={"study": study.uuid})
    response = researcher_client.post(
        url, protocol_payload(study, quorum_pct=60, quorum_min_per_group=4)
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert (study.quorum_pct, study.quorum_min_per_group) == (60, 4)


@pytest.mark.parametrize("bad", [101, 250, -5])
def test_a_quorum_outside_0_to_100_is_refused_and_nothing_changes(study, researcher_client, bad):
    url = reverse("study_protocol", kwargs={"study": study.uuid})
    before = Study.objects.values().get(pk=study.pk)
    response = researcher_client.post(
        url, protocol_payload(study, quorum_pct=bad, planned_rounds=5)
    )
    assert response.status_code == 200
    assert f"A response rate of {bad} % is impossible" in response.content.decode()
    assert Study.objects.values().get(pk=study.pk) == before


@pytest.fixture
def rnd(study, researcher):
    r = world.open_round(study, researcher)
    world.populate(study, r)
    return r


def _close_url(rnd):
    return reverse("round_close", kwargs={"study": rnd.study.uuid, "round": rnd.uuid})


def test_the_confirmation_shows_every_state_by_group(rnd, researcher_client):
    page = researcher_client.get(_close_url(rnd))
    html = page.content.decode()
    q = page.context["quorum"]
    assert [g.code for g in q.groups] == ["all", "law", "clinical", "dispatch"]
    # law: 3 submitted, 1 complete draft, 0 partial, 0 not started; counted 4 of 3 needed
    assert '<th scope="row">Law</th><td class="text-end">3</td><td class="text-end">1</td>' in html
    assert "Complete drafts count as submitted; partial drafts are left out." in html
    assert "Below quorum." in html and "Clinical: 2 responses, 3 needed." in html
    assert 'name="reason"' in html


def test_closing_below_quorum_through_the_page(rnd, researcher_client, study):
    response = researcher_client.post(_close_url(rnd), {"reason": "  "})
    assert response.status_code == 200
    assert "Write why you are closing it now" in response.content.decode()
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.OPEN
    response = researcher_client.post(
        _close_url(rnd), {"reason": "The deadline was agreed with the funder."}, follow=True
    )
    assert "closed below its quorum: a deviation is recorded" in response.content.decode()
    rnd.refresh_from_db()
    assert rnd.below_quorum and rnd.status != Round.Status.OPEN
    assert Deviation.objects.get(study=study).reason == "The deadline was agreed with the funder."
    study_page = researcher_client.get(reverse("study_detail", kwargs={"study": study.uuid}))
    assert "round_close_below_quorum" in study_page.content.decode()


def test_closing_at_quorum_asks_for_no_reason(rnd, researcher_client, study):
    Study.objects.filter(pk=study.pk).update(quorum_min_per_group=0)
    page = researcher_client.get(_close_url(rnd)).content.decode()
    assert "The quorum is met: 6 of 10 panelists count as responses." in page
    assert 'name="reason"' not in page
    researcher_client.post(_close_url(rnd), {})
    rnd.refresh_from_db()
    assert rnd.status != Round.Status.OPEN and not rnd.below_quorum
    assert not Deviation.objects.exists()


def test_analysts_cannot_close(rnd, analyst_client):
    assert analyst_client.get(_close_url(rnd)).status_code == 403
    assert analyst_client.post(_close_url(rnd), {"reason": "x"}).status_code == 403
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.OPEN


def test_confirmation_query_count(rnd, researcher_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        researcher_client.get(_close_url(rnd))


def test_results_flag_a_round_closed_below_quorum(rnd, researcher, researcher_client):
    from delphi.services.rounds import round_close

    round_close(round=rnd, by=researcher, reason="Funding ends.")
    html = researcher_client.get(
        reverse("round_results", kwargs={"study": rnd.study.uuid, "round": rnd.uuid})
    ).content.decode()
    assert "Below quorum." in html and "6 of 10 eligible panelists counted" in html
