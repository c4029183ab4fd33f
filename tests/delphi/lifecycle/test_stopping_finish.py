"""The stopping rule evaluated, the next round's confirmation, finishing and the final list."""

import pytest
from django.core import mail
from django.urls import reverse

from delphi.consensus.services import consensus_compute_now
from delphi.models import Communication, Deviation, ItemChange, Round, Study
from delphi.services.lifecycle import (
    final_list,
    round_low_n_items,
    stopping_rule_status,
    study_finish,
)
from delphi.services.rounds import round_close, round_open
from tests import factories as f

# Three items: A reaches "consensus in", B "consensus out", C stays split (carried forward).
VALUES = {
    "A": [9, 8, 9, 8, 7, 9, 8, 9, 8],
    "B": [1, 2, 1, 2, 1, 3, 2, 1, 2],
    "C": [1, 9, 5, 2, 8, 4, 9, 1, 6],
}


def analysed_round(study, researcher, *, values=VALUES, number=1):
    statements = [f.make_statement(study, code=f"{k}{number}") for k in values]
    rnd = f.make_round(study, number=number, statements=statements)
    round_open(round=rnd, by=researcher)
    items = list(rnd.items.order_by("order"))
    groups = list(study.panel.groups.order_by("order"))
    panelists = list(study.panel.panelists.order_by("pk"))
    while len(panelists) < 9:
        panelists.append(f.make_panelist(study, group=groups[len(panelists) % 3]))
    for i, p in enumerate(panelists):
        f.rate(p, rnd, {item: values[k][i] for item, k in zip(items, values)})
    round_close(round=rnd, by=researcher)
    consensus_compute_now(round=rnd)
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.ANALYSED
    return rnd


def _set(study, **fields):
    Study.objects.filter(pk=study.pk).update(**fields)
    study.refresh_from_db()


def test_consensus_rule_with_an_item_left_does_not_hold(study, researcher):
    analysed_round(study, researcher)
    status = stopping_rule_status(study=study)
    assert status.rule == "consensus" and not status.holds
    figures = {c.key: (c.met, c.figures) for c in status.conditions}
    assert figures == {
        "planned_rounds": (False, "1 of 3 planned rounds closed"),
        "all_verdicts": (False, "round 1: 1 in, 1 out, 1 without consensus, of 3 items"),
    }


def test_consensus_rule_holds_when_every_item_has_a_verdict(study, researcher):
    analysed_round(study, researcher, values={k: VALUES[k] for k in "AB"})
    status = stopping_rule_status(study=study)
    assert status.holds
    assert status.summary == "The stopping rule holds: every item has a verdict."


def test_fixed_rule_holds_at_the_planned_rounds(study, researcher):
    _set(study, stopping_rule="fixed", planned_rounds=1)
    analysed_round(study, researcher)
    status = stopping_rule_status(study=study)
    assert status.holds and [c.key for c in status.conditions] == ["planned_rounds"]


def test_stability_rule_needs_every_carried_item_stable(study, researcher):
    _set(study, stopping_rule="stability")
    analysed_round(study, researcher)
    status = stopping_rule_status(study=study)
    assert not status.holds
    stable = next(c for c in status.conditions if c.key == "carried_stable")
    assert stable.figures == (
        "round 1: 0 of 1 carried items stable, 1 not testable (no paired earlier round)"
        " (under 15 % change)"
    )


def test_study_page_shows_the_rule_and_finish_replaces_start(study, researcher, researcher_client):
    rnd = analysed_round(study, researcher, values={k: VALUES[k] for k in "AB"})
    html = researcher_client.get(reverse("study_detail", kwargs={"study": study.uuid})).content
    html = html.decode()
    assert "The stopping rule holds: every item has a verdict." in html
    assert "Finish the study" in html and "Start round 2" not in html
    results = researcher_client.get(
        reverse("round_results", kwargs={"study": study.uuid, "round": rnd.uuid})
    ).content.decode()
    assert "Finish the study" in results and "with the 0 carried item(s)" not in results


def test_a_further_round_after_the_rule_holds_is_a_deviation(study, researcher, researcher_client):
    rnd = analysed_round(study, researcher, values={k: VALUES[k] for k in "AB"})
    url = reverse("round_next", kwargs={"study": study.uuid, "round": rnd.uuid})
    # The results page's old button leads here too.
    start = reverse("round_start_next", kwargs={"study": study.uuid, "round": rnd.uuid})
    assert researcher_client.post(start)["Location"] == url
    response = researcher_client.post(url, {"reason": ""})
    assert "a further round is a deviation" in response.content.decode()
    assert not Round.objects.filter(study=study, number=2).exists()
    researcher_client.post(url, {"reason": "The funder asked for a scenario round."})
    assert Round.objects.filter(study=study, number=2).exists()
    dev = Deviation.objects.get(study=study, field="round_beyond_stopping_rule")
    assert dev.reason == "The funder asked for a scenario round."


def test_verdicts_on_too_few_ratings_are_carried_unless_the_researcher_says_no(
    study, researcher, researcher_client
):
    values = {k: list(v) for k, v in VALUES.items()}
    rnd = analysed_round(study, researcher, values=values)
    # The quorum needs every one of the 9 panelists' ratings: A and B rest on 9, fine; now
    # pretend 10 were needed at the close.
    Round.objects.filter(pk=rnd.pk).update(quorum_at_close={"needed": 10})
    rnd.refresh_from_db()
    low = round_low_n_items(round=rnd)
    assert [(r["item"].statement.code, r["verdict"], r["n"]) for r in low] == [
        ("A1", "in", 9),
        ("B1", "out", 9),
    ]
    url = reverse("round_next", kwargs={"study": study.uuid, "round": rnd.uuid})
    page = researcher_client.get(url).content.decode()
    assert "2 verdicts rest on fewer valid ratings than the quorum" in page
    assert page.count('name="carry"') == 2 and page.count(" checked") == 2
    a = low[0]["item"]
    # The researcher keeps A in play and accepts B's verdict.
    researcher_client.post(url, {"carry": [str(a.pk)]})
    new = Round.objects.get(study=study, number=2)
    assert sorted(i.statement.code for i in new.items.all()) == ["A1", "C1"]
    change = ItemChange.objects.get(round=new, statement=a.statement)
    assert change.action == "carried" and "fewer valid ratings than the quorum" in change.reason
    assert ItemChange.objects.get(round=new, statement__code="B1").action == "retired"


def test_finishing_freezes_and_the_final_list(study, researcher, researcher_client):
    rnd = analysed_round(study, researcher, values={k: VALUES[k] for k in "AB"})
    url = reverse("study_final", kwargs={"study": study.uuid})
    response = researcher_client.post(url, {"finish": "1"}, follow=True)
    assert "The study is finished" in response.content.decode()
    study.refresh_from_db()
    assert study.finished_at is not None
    rows = final_list(study=study)
    assert [(r["code"], r["verdict"], r["round"]) for r in rows] == [
        ("A1", "in", 1),
        ("B1", "out", 1),
    ]
    html = response.content.decode()
    assert "Consensus in: <strong>1</strong>" in html
    # No further rounds once finished.
    next_url = reverse("round_next", kwargs={"study": study.uuid, "round": rnd.uuid})
    assert (
        "The study is finished: no further rounds."
        in researcher_client.post(next_url, {"reason": "x"}).content.decode()
    )


def test_finishing_before_the_rule_holds_needs_a_reason(study, researcher):
    analysed_round(study, researcher)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="does not hold yet"):
        study_finish(study=study, by=researcher)
    study_finish(study=study, by=researcher, reason="The panel's funding ended.")
    assert Deviation.objects.get(study=study, field="study_finish_early")
    rows = final_list(study=study)
    assert [r["verdict"] for r in rows] == ["in", "out", "none"]


@pytest.mark.usefixtures("eager")
def test_the_thank_you_goes_through_the_communications_log(
    study, researcher, researcher_client, django_capture_on_commit_callbacks
):
    analysed_round(study, researcher, values={k: VALUES[k] for k in "AB"})
    study_finish(study=study, by=researcher)
    url = reverse("study_final", kwargs={"study": study.uuid})
    page = researcher_client.get(url)
    body = page.context["thanks_form"].initial["body"]
    assert "The panel rated 2 statements: 1 agreed as essential, 1 agreed as not essential" in body
    assert "El panel calificó 2 enunciados" in page.context["thanks_form"].initial["body_es"]
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(
            url,
            {"thank": "1", "subject": "Thank you", "body": body, "subject_es": "", "body_es": ""},
            follow=True,
        )
    assert "Thank-you queued for 9 panelist(s)." in response.content.decode()
    assert Communication.objects.filter(study=study, kind="thankyou").count() == 9
    assert len(mail.outbox) == 9 and "agreed as essential" in mail.outbox[0].body


def test_a_finished_study_opens_and_creates_no_rounds(study, researcher):
    from django.core.exceptions import ValidationError

    from delphi.services.rounds import round_create

    draft = f.make_round(study, number=5, statements=[f.make_statement(study)])
    analysed_round(study, researcher, values={k: VALUES[k] for k in "AB"})
    study_finish(study=study, by=researcher)
    with pytest.raises(ValidationError, match="finished"):
        round_create(study=study, kind="rating", by=researcher)
    with pytest.raises(ValidationError, match="finished"):
        round_open(round=draft, by=researcher)


from tests.delphi.consensus.test_engine import eager  # noqa: E402, F401 (fixture)


def second_round(study, researcher, first, *, values):
    """Round 2 asks round 1's carried statements again (same statements: paired by panelist)."""
    carried = [i.statement for i in first.items.order_by("order") if i.statement.code[0] in values]
    rnd = f.make_round(study, number=2, statements=carried)
    round_open(round=rnd, by=researcher)
    panelists = list(study.panel.panelists.order_by("pk"))
    items = list(rnd.items.order_by("order"))
    for i, p in enumerate(panelists):
        f.rate(p, rnd, {item: values[item.statement.code[0]][i] for item in items})
    round_close(round=rnd, by=researcher)
    consensus_compute_now(round=rnd)
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.ANALYSED
    return rnd


def test_stability_rule_holds_when_the_carried_item_kept_its_distribution(study, researcher):
    _set(study, stopping_rule="stability")
    first = analysed_round(study, researcher)
    # C again, every panelist giving the same rating: 0 % change, still no consensus.
    second_round(study, researcher, first, values={"C": VALUES["C"]})
    status = stopping_rule_status(study=study)
    stable = next(c for c in status.conditions if c.key == "carried_stable")
    assert (stable.met, stable.figures) == (
        True,
        "round 2: 1 of 1 carried items stable (under 15 % change)",
    )
    assert status.holds
    assert status.summary == "The stopping rule holds: every carried item is stable."


def test_stability_rule_does_not_hold_when_the_carried_item_moved(study, researcher):
    _set(study, stopping_rule="stability")
    first = analysed_round(study, researcher)
    moved = [5, 5, 5, 5, 5, 5, 5, 4, 6]  # a split panel converging on the middle band
    second_round(study, researcher, first, values={"C": moved})
    status = stopping_rule_status(study=study)
    stable = next(c for c in status.conditions if c.key == "carried_stable")
    assert not stable.met
    assert stable.figures == "round 2: 0 of 1 carried items stable (under 15 % change)"
    assert not status.holds


def test_fixed_rule_does_not_hold_before_the_planned_rounds(study, researcher):
    _set(study, stopping_rule="fixed", planned_rounds=2)
    analysed_round(study, researcher, values={k: VALUES[k] for k in "AB"})
    status = stopping_rule_status(study=study)
    # Every item has a verdict, but the fixed rule only counts rounds.
    assert not status.holds
    assert status.summary == "The stopping rule does not hold yet: 1 of 2 planned rounds closed."


def test_consensus_rule_holds_at_the_planned_rounds_with_items_left(study, researcher):
    _set(study, planned_rounds=1)
    analysed_round(study, researcher)
    status = stopping_rule_status(study=study)
    assert status.holds
    assert status.summary == "The stopping rule holds: planned rounds reached."


def _ranking_round(study, researcher, *, number, agree: bool):
    """An analysed ranking round of A, B, C: every panelist the same order, or orders that
    cancel out (W = 0)."""
    from tests.delphi.consensus.test_ranking_engine import rank

    statements = [f.make_statement(study, code=f"R{number}{k}") for k in "ABC"]
    rnd = f.make_round(study, number=number, kind=Round.Kind.RANKING, statements=statements)
    round_open(round=rnd, by=researcher)
    items = list(rnd.items.order_by("order"))
    orders = [items, items[1:] + items[:1], items[2:] + items[:2]]
    for i, p in enumerate(study.panel.panelists.order_by("pk")):
        rank(p, rnd, items if agree else orders[i % 3])
    round_close(round=rnd, by=researcher)
    consensus_compute_now(round=rnd)
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.ANALYSED
    return rnd


@pytest.mark.parametrize("agree", [True, False])
def test_a_ranking_round_must_reach_its_agreement_rule_too(study, researcher, agree):
    analysed_round(study, researcher, values={k: VALUES[k] for k in "AB"})
    _ranking_round(study, researcher, number=2, agree=agree)
    status = stopping_rule_status(study=study)
    ranking = next(c for c in status.conditions if c.key == "ranking_agreement")
    w = "1.00" if agree else "0.00"
    assert ranking.figures.startswith(f"round 2: Kendall's W = {w} (")
    assert ranking.figures.endswith("the rule asks W ≥ 0.70")
    assert ranking.met is agree
    # Every rated item has a verdict; the ranking decides whether the study may stop early.
    assert status.holds is agree


@pytest.mark.parametrize(
    ("test", "pct_stable", "n_paired", "p", "expected"),
    [
        ("pct_change", True, 9, 0.01, True),  # the distribution held, individuals moved
        ("wilcoxon", True, 9, 0.01, False),
        ("both", True, 9, 0.01, False),
        ("wilcoxon", False, 9, 0.40, True),  # individuals held, the distribution moved
        ("both", False, 9, 0.40, False),
        ("both", True, 9, 0.40, True),
        ("wilcoxon", True, 9, None, True),  # paired, nobody changed: nothing to rank
        ("wilcoxon", None, 0, None, None),  # nobody rated it in both rounds
        ("both", True, 0, None, None),
        ("pct_change", None, 0, None, None),
    ],
)
def test_item_stability_under_each_test(test, pct_stable, n_paired, p, expected):
    from delphi.services.lifecycle import item_stable

    assert item_stable(test, pct_stable, n_paired, p) is expected


@pytest.mark.parametrize("test", ["pct_change", "wilcoxon", "both"])
def test_stability_rule_uses_the_protocols_test(study, researcher, test):
    _set(study, stopping_rule="stability", stability_test=test)
    first = analysed_round(study, researcher)
    second_round(study, researcher, first, values={"C": VALUES["C"]})
    status = stopping_rule_status(study=study)
    stable = next(c for c in status.conditions if c.key == "carried_stable")
    # Nobody changed a rating: stable under each test, and the figures name the test.
    assert stable.met and status.holds
    short = {"pct_change": "(under 15 % change)", "wilcoxon": "(Wilcoxon p ≥ 0.05)"}
    assert stable.figures.endswith(short.get(test, "(under 15 % change and Wilcoxon p ≥ 0.05)"))


def test_the_stability_test_is_a_locked_protocol_field(study):
    assert "stability_test" in Study.LOCKED_FIELDS
