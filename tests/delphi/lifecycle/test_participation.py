"""Participation by round and group: the funnel, response rates and attrition."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from delphi.models import Round
from delphi.participation import participation_flow, round_attrition_check
from delphi.services.rounds import round_close
from tests import factories as f
from tests.delphi.lifecycle import world


@pytest.fixture
def two_rounds(study, researcher):
    """Round 1 closed with the world's plan; round 2 open, invited to everyone but one."""
    r1 = world.open_round(study, researcher)
    people = world.populate(study, r1)
    round_close(round=r1, by=researcher, reason="Test: close below quorum.")
    Round.objects.filter(pk=r1.pk).update(closed_at=timezone.now() - timedelta(days=3))
    r2 = world.open_round(study, researcher, number=2, days_ago=2)
    law, clinical = people["law"], people["clinical"]
    everyone = [p for group in people.values() for p in group]
    for p in everyone[:-1]:
        world.invite(p, r2, opened=False)
    # The one not sent a round-2 link answers it through their old round-1 link (still
    # live): that visit is round 2's, not round 1's.
    old = world.invite(everyone[-1], r1, opened=False)
    old.opened_at = r2.opened_at + timedelta(hours=3)
    old.save(update_fields=["opened_at"])
    world.answer(everyone[-1], r2, "submitted")
    world.answer(law[0], r2, "submitted")
    world.answer(law[1], r2, "partial")
    world.answer(clinical[0], r2, "submitted")
    return r1, r2, people


def _row(rows, number, group):
    return next(r for r in rows if r["round"] == number and r["group"] == group)


def test_round_one_funnel_by_group(two_rounds, study):
    rows = participation_flow(study=study)
    assert [(r["round"], r["group"]) for r in rows[:4]] == [
        (1, "all"), (1, "law"), (1, "clinical"), (1, "dispatch"),
    ]  # fmt: skip
    all1 = _row(rows, 1, "all")
    assert {k: all1[k] for k in ("invited", "opened", "consented", "started", "submitted")} == {
        "invited": 10, "opened": 8, "consented": 8, "started": 8, "submitted": 4,
    }  # fmt: skip
    assert all1["response_rate"] == pytest.approx(0.4)
    assert all1["attrition"] is None
    law1 = _row(rows, 1, "law")
    assert (law1["invited"], law1["submitted"], law1["response_rate"]) == (4, 3, 0.75)
    dispatch1 = _row(rows, 1, "dispatch")
    assert (dispatch1["invited"], dispatch1["submitted"], dispatch1["response_rate"]) == (2, 0, 0)


def test_round_two_counts_only_its_own_links_and_the_attrition(two_rounds, study):
    rows = participation_flow(study=study)
    all2 = _row(rows, 2, "all")
    assert all2["invited"] == 10  # 9 sent + the one who answered through an old link
    assert all2["opened"] == 4  # nobody opened a round-2 link; four answered
    assert all2["started"] == 4 and all2["submitted"] == 3
    assert all2["previous_submitted"] == 4 and all2["dropped"] == 2
    assert all2["attrition"] == pytest.approx(0.5)
    law2 = _row(rows, 2, "law")
    assert (law2["previous_submitted"], law2["dropped"], law2["attrition"]) == (3, 2, 2 / 3)
    clinical2 = _row(rows, 2, "clinical")
    assert (clinical2["dropped"], clinical2["attrition"]) == (0, 0)
    # Round 1's opened count did not grow from the round-2 visit.
    assert _row(rows, 1, "all")["opened"] == 8


def test_draft_rounds_are_left_out(study, researcher):
    f.make_round(study, statements=[f.make_statement(study)])
    assert participation_flow(study=study) == []


def test_participation_page(two_rounds, researcher_client, study, django_assert_max_num_queries):
    url = reverse("study_participation", kwargs={"study": study.uuid})
    # A fixed number per round (the flow, then the attrition check of each later round).
    with django_assert_max_num_queries(20):
        page = researcher_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Round 2" in html and "Dispatch" in html
    assert "50 %" in html  # round 2's attrition overall
    assert "(2 of 3)" in html  # law's attrition in round 2
    assert "Invited <strong>10</strong>" in html


def test_analysts_read_the_participation_page(two_rounds, analyst_client, study):
    url = reverse("study_participation", kwargs={"study": study.uuid})
    assert analyst_client.get(url).status_code == 200


def test_outsiders_get_404_on_the_participation_page(two_rounds, outsider_client, study):
    url = reverse("study_participation", kwargs={"study": study.uuid})
    assert outsider_client.get(url).status_code == 404


def test_participation_queries_do_not_grow_with_the_panel(
    two_rounds, study, django_assert_max_num_queries
):
    r2 = Round.objects.get(study=study, number=2)
    for _ in range(15):
        p = f.make_panelist(study)
        world.answer(p, r2, "submitted")
    with django_assert_max_num_queries(5):
        participation_flow(study=study)


def test_attrition_check_on_the_page(two_rounds, researcher_client, study):
    html = researcher_client.get(
        reverse("study_participation", kwargs={"study": study.uuid})
    ).content.decode()
    assert "Attrition bias: round 1 ratings of those who left and those who stayed" in html
    # Round 1's analysis read 4 submitted and 2 complete drafts (the default drafts policy);
    # of those 6, two have answers that count in round 2 so far.
    assert "The 4 dropouts rated no item differently from the 2 who stayed" in html
    assert "Provisional: the round is still open" in html


def test_attrition_check_flags_dropouts_who_rated_differently(study, researcher):
    r1 = world.open_round(study, researcher, n_items=2)
    item_a, item_b = r1.items.all()
    stay = [f.make_panelist(study) for _ in range(10)]
    leave = [f.make_panelist(study) for _ in range(8)]
    for i, p in enumerate(stay):
        f.rate(p, r1, {item_a: 7 + i % 3, item_b: 5 + i % 3})
    for i, p in enumerate(leave):
        f.rate(p, r1, {item_a: 1 + i % 3, item_b: 5 + i % 3})
    round_close(round=r1, by=researcher, reason="Test.")
    r2 = world.open_round(study, researcher, number=2, days_ago=1)
    for p in stay:
        world.answer(p, r2, "submitted")
    check = round_attrition_check(round=r2)
    res = check.result
    assert (res.n_dropouts, res.n_completers, res.n_tested) == (8, 10, 2)
    assert res.flagged and res.differing == [item_a.statement.code]
    assert check.rows[0]["item"] == item_a.statement.code and check.rows[0]["differs"]
    assert check.rows[0]["text"] == item_a.statement.text
    assert res.summary.startswith("The 8 dropouts rated 1 of 2 items differently from the 10")


def test_no_attrition_check_for_the_first_round(two_rounds):
    r1, _, _ = two_rounds
    assert round_attrition_check(round=r1) is None


def test_attrition_check_is_computed_once_per_run_and_panel(study, researcher, monkeypatch):
    """The check reads the whole previous round; the page reuses it until the previous round's
    run or the set of panelists who stayed changes."""
    from django.core.cache import cache

    cache.clear()
    r1 = world.open_round(study, researcher, n_items=2)
    item_a, item_b = r1.items.all()
    people = [f.make_panelist(study) for _ in range(12)]
    for i, p in enumerate(people):
        f.rate(p, r1, {item_a: 1 + i % 9, item_b: 9 - i % 9})
    round_close(round=r1, by=researcher, reason="Test.")
    r2 = world.open_round(study, researcher, number=2, days_ago=1)
    for p in people[:6]:
        world.answer(p, r2, "submitted")
    first = round_attrition_check(round=r2)
    assert (first.result.n_completers, first.result.n_dropouts) == (6, 6)
    # Cached: the previous round's ratings are not read again.
    from delphi.consensus import selectors

    def no_second_read(**kwargs):
        raise AssertionError("the previous round's ratings were read again")

    with monkeypatch.context() as m:
        m.setattr(selectors, "round_ratings_frame", no_second_read)
        again = round_attrition_check(round=r2)
    assert again.rows == first.rows and again.provisional
    # One more panelist stays, answering through the questionnaire's own service (which
    # writes the audit rows the open round's cache key follows): a fresh result.
    from delphi.services.responses import ratings_save_page, response_submit

    ratings_save_page(
        panelist=people[6], round=r2, study=study,
        answers={i: {"value": "7", "existing": False} for i in r2.items.all()},
    )  # fmt: skip
    response_submit(panelist=people[6], round=r2)
    later = round_attrition_check(round=r2)
    assert (later.result.n_completers, later.result.n_dropouts) == (7, 5)
