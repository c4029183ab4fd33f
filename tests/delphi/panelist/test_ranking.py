"""A panelist ranks a ranking round's items: moves, autosave, bad input, resume, review, submit."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from delphi.models import Ranking, RankingItemResult, Response, Round
from delphi.panelist.ranking import apply_move
from tests import factories as f
from tests.delphi.panelist.conftest import sign_in


def ranking_round(study, *, n=5, number=1, prefix="R", **fields):
    domain = f.make_domain(study)
    statements = [
        f.make_statement(study, domain=domain, code=f"{prefix}{i + 1:02d}") for i in range(n)
    ]
    fields.setdefault("status", Round.Status.OPEN)
    fields.setdefault("opened_at", timezone.now())
    return f.make_round(
        study, number=number, kind=Round.Kind.RANKING, statements=statements, **fields
    )


def items(rnd):
    return list(rnd.items.select_related("statement").order_by("order"))


def save(client, rnd, ranks, seq):
    body = {"seq": seq, "ranks": {str(i.uuid): r for i, r in ranks.items()}}
    return client.post(
        f"/p/r/{rnd.uuid}/ranking/autosave/", json.dumps(body), content_type="application/json"
    )


def stored(panelist, rnd):
    return dict(
        Ranking.objects.filter(response__panelist=panelist, response__round=rnd).values_list(
            "item__statement__code", "rank"
        )
    )


@pytest.fixture
def rrnd(study):
    return ranking_round(study)


@pytest.fixture
def pclient(client, panelist, rrnd):
    return sign_in(client, panelist)


# --- the moves -----------------------------------------------------------------------------


def test_moves_without_ties():
    empty = dict.fromkeys("ABCD")
    # Choosing a free rank takes it; moving up an unranked item puts it below the last one.
    ranks = apply_move(empty, "C", "set", limit=4, value=1)
    assert ranks == {"A": None, "B": None, "C": 1, "D": None}
    ranks = apply_move(ranks, "A", "up", limit=4)
    assert ranks == {"A": 2, "B": None, "C": 1, "D": None}
    # Up swaps with the item above; down with the item below.
    assert apply_move(ranks, "A", "up", limit=4) == {"A": 1, "B": None, "C": 2, "D": None}
    assert apply_move(ranks, "C", "down", limit=4) == {"A": 1, "B": None, "C": 2, "D": None}
    # A taken rank chosen by an unranked item inserts it and pushes the run below down.
    ranks = apply_move(ranks, "B", "set", limit=4, value=1)
    assert ranks == {"A": 3, "B": 1, "C": 2, "D": None}
    # A taken rank chosen by a ranked item swaps the two.
    assert apply_move(ranks, "A", "set", limit=4, value=1) == {"A": 1, "B": 3, "C": 2, "D": None}
    # The last place of a complete ranking stays; "not ranked" removes.
    full = {"A": 1, "B": 2, "C": 3, "D": 4}
    assert apply_move(full, "D", "down", limit=4) == full
    assert apply_move(full, "B", "set", limit=4, value=None)["B"] is None


def test_moves_top_k_and_ties():
    top2 = {"A": 1, "B": 2, "C": None}
    # Past the last place of a top-k ranking the item leaves it.
    assert apply_move(top2, "B", "down", limit=2) == {"A": 1, "B": None, "C": None}
    # Inserting into a full top 2 drops the last one out.
    assert apply_move(top2, "C", "set", limit=2, value=1) == {"A": 2, "B": None, "C": 1}
    tied = apply_move({"A": 1, "B": 2, "C": None}, "B", "up", limit=3, allow_ties=True)
    assert tied == {"A": 1, "B": 1, "C": None}


# --- the page and its saves ----------------------------------------------------------------


def test_page_lists_every_item_with_a_rank_selector_and_move_buttons(pclient, rrnd):
    page = pclient.get(f"/p/r/{rrnd.uuid}/page/1/")
    html = page.content.decode()
    assert page.status_code == 200
    for item in items(rrnd):
        assert f'name="rank-{item.uuid}"' in html
        assert f'value="up:{item.uuid}"' in html and f'value="down:{item.uuid}"' in html
    assert "0 of 5 places filled" in html
    assert "js/ranking.js" in html


def test_autosave_keeps_the_order_for_a_new_device(pclient, panelist, rrnd):
    a, b, c, d, e = items(rrnd)
    r = save(pclient, rrnd, {a: 3, b: 1, c: 2, d: 5, e: 4}, seq=1)
    assert r.status_code == 200 and r.json() == {"ok": True, "stale": False}
    assert stored(panelist, rrnd) == {"R01": 3, "R02": 1, "R03": 2, "R04": 5, "R05": 4}
    # A second device signs in with a new link and finds the saved order, sorted.
    other = sign_in(Client(), panelist)
    html = other.get(f"/p/r/{rrnd.uuid}/page/1/").content.decode()
    positions = [html.index(f'id="row-{i.uuid}"') for i in (b, c, a, e, d)]
    assert positions == sorted(positions)
    assert "5 of 5 places filled" in html
    review = other.get(f"/p/r/{rrnd.uuid}/review/").content.decode()
    assert (
        review.index(b.statement.text)
        < review.index(c.statement.text)
        < review.index(a.statement.text)
    )
    assert "Submit my ranking" in review


def test_an_older_save_arriving_late_changes_nothing(pclient, panelist, rrnd):
    a, b, *_ = items(rrnd)
    assert save(pclient, rrnd, {a: 1, b: 2}, seq=5).json()["stale"] is False
    assert save(pclient, rrnd, {a: 2, b: 1}, seq=4).json() == {"ok": True, "stale": True}
    assert stored(panelist, rrnd) == {"R01": 1, "R02": 2}


def test_duplicate_rank_refused_with_the_reason_and_nothing_stored(pclient, panelist, rrnd):
    a, b, c, *_ = items(rrnd)
    save(pclient, rrnd, {a: 1}, seq=1)
    r = save(pclient, rrnd, {a: 1, b: 1, c: 2}, seq=2)
    assert r.status_code == 400
    assert r.json()["error"] == "R01 and R02 both have rank 1; each rank can be given once."
    assert stored(panelist, rrnd) == {"R01": 1}
    assert Response.objects.get(panelist=panelist, round=rrnd).ranking_seq == 1


def test_item_not_in_the_round_refused_and_nothing_stored(pclient, panelist, study, rrnd):
    other = ranking_round(
        study, n=2, number=2, prefix="X", status=Round.Status.DRAFT, opened_at=None
    )
    a, *_ = items(rrnd)
    foreign = items(other)[0]
    r = save(pclient, rrnd, {a: 1, foreign: 2}, seq=1)
    assert r.status_code == 400
    assert "is not an item of this round" in r.json()["error"]
    assert stored(panelist, rrnd) == {}
    r = save(pclient, rrnd, {a: 9}, seq=2)
    assert r.status_code == 400 and r.json()["error"] == "R01: rank 9 is outside 1..5."


def test_form_post_without_script_and_move_buttons(pclient, panelist, rrnd):
    a, b, c, d, e = items(rrnd)
    url = f"/p/r/{rrnd.uuid}/page/1/"
    form = {f"rank-{i.uuid}": str(r) for i, r in ((a, 1), (b, 2), (c, 3))}
    form |= {f"rank-{d.uuid}": "", f"rank-{e.uuid}": "", "action": "save"}
    assert pclient.post(url, form).status_code == 302
    assert stored(panelist, rrnd) == {"R01": 1, "R02": 2, "R03": 3}
    # "Move up" on C posts the form with the move: C and B swap.
    r = pclient.post(url, form | {"move": f"up:{c.uuid}"})
    assert r.status_code == 302 and r["Location"].endswith(f"#row-{c.uuid}")
    assert stored(panelist, rrnd) == {"R01": 1, "R02": 3, "R03": 2}
    # Two selects on one rank without script: refused, shown, nothing changed.
    bad = form | {f"rank-{b.uuid}": "1"}
    r = pclient.post(url, bad)
    assert r.status_code == 400
    assert "R01 and R02 both have rank 1" in r.content.decode()
    assert stored(panelist, rrnd) == {"R01": 1, "R02": 3, "R03": 2}


def test_submit_needs_a_complete_ranking(pclient, panelist, rrnd):
    a, b, c, d, e = items(rrnd)
    save(pclient, rrnd, {a: 1, b: 2}, seq=1)
    review = pclient.get(f"/p/r/{rrnd.uuid}/review/").content.decode()
    assert "2 of 5 items are ranked; rank every item." in review
    assert "Submit my ranking" not in review
    r = pclient.post(f"/p/r/{rrnd.uuid}/review/", follow=True)
    assert "Your ranking is not complete yet" in r.content.decode()
    assert Response.objects.get(panelist=panelist, round=rrnd).status == "draft"
    save(pclient, rrnd, {a: 1, b: 2, c: 3, d: 4, e: 5}, seq=2)
    r = pclient.post(f"/p/r/{rrnd.uuid}/review/")
    assert r["Location"] == f"/p/r/{rrnd.uuid}/done/"
    assert Response.objects.get(panelist=panelist, round=rrnd).status == "submitted"


def test_top_k_and_ties_follow_the_protocol(client, study, panelist):
    study.ranking_top_k = 2
    study.ranking_allow_ties = True
    study.save()
    rnd = ranking_round(study, n=4)
    pc = sign_in(client, panelist)
    a, b, c, d = items(rnd)
    assert "Choose the 2 statements" in pc.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    assert save(pc, rnd, {a: 3}, seq=1).json()["error"] == "R01: rank 3 is outside 1..2."
    assert save(pc, rnd, {a: 1, b: 1}, seq=2).status_code == 200  # ties allowed
    assert pc.post(f"/p/r/{rnd.uuid}/review/")["Location"] == f"/p/r/{rnd.uuid}/done/"


def test_closed_round_refuses_saves(pclient, panelist, rrnd):
    Round.objects.filter(pk=rrnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    a, *_ = items(rrnd)
    r = save(pclient, rrnd, {a: 1}, seq=1)
    assert r.status_code == 409 and "closed" in r.json()["error"]
    assert stored(panelist, rrnd) == {}


def test_outsider_session_cannot_save(client, rrnd):
    a, *_ = items(rrnd)
    assert save(client, rrnd, {a: 1}, seq=1).status_code == 403


def test_feedback_from_the_previous_ranking_round(client, study, panelist):
    first = ranking_round(
        study, n=3, number=1, status=Round.Status.ANALYSED, closed_at=timezone.now()
    )
    second = f.make_round(study, number=2, kind=Round.Kind.RANKING, status=Round.Status.OPEN,
                          opened_at=timezone.now())  # fmt: skip
    for i, prev in enumerate(items(first)):
        second.items.create(statement=prev.statement, order=i, carried_from=prev)
    law, clinical, _ = study.panel.groups.order_by("order")
    a1 = items(first)[0]
    response = Response.objects.create(round=first, panelist=panelist, status="submitted",
                                       submitted_at=timezone.now())  # fmt: skip
    Ranking.objects.create(response=response, item=a1, rank=2)
    RankingItemResult.objects.create(round=first, item=a1, group_key="all", n=12,
                                     mean_rank=1.75, median_rank=1.5)  # fmt: skip
    RankingItemResult.objects.create(round=first, item=a1, group_key="law", group=law, n=5,
                                     mean_rank=1.2, median_rank=1.0)  # fmt: skip
    RankingItemResult.objects.create(round=first, item=a1, group_key="clinical", group=clinical,
                                     n=2, mean_rank=3.0, median_rank=3.0)  # fmt: skip
    pc = sign_in(client, panelist)
    html = pc.get(f"/p/r/{second.uuid}/page/1/").content.decode()
    assert "you ranked it 2." in html
    assert "All panelists (n = 12): mean rank 1.8, median rank 1.5" in html
    assert "Law (n = 5): mean rank 1.2, median rank 1.0" in html
    assert "Clinical" not in html  # 2 < the minimum group size of 3


def test_ranking_page_query_count_does_not_grow_with_items(
    client, study, panelist, django_assert_max_num_queries
):
    rnd = ranking_round(study, n=30)
    pc = sign_in(client, panelist)
    with django_assert_max_num_queries(16):
        assert pc.get(f"/p/r/{rnd.uuid}/page/1/").status_code == 200
