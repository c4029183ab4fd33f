"""The quorum: what counts as a response under each drafts policy, and closing below it."""

import pytest
from django.core.exceptions import ValidationError

from delphi.models import Deviation, Round, Study
from delphi.participation import round_answer_status
from delphi.services.lifecycle import round_quorum
from delphi.services.rounds import round_close
from tests.delphi.lifecycle import world


@pytest.fixture
def rnd(study, researcher):
    r = world.open_round(study, researcher)
    world.populate(study, r)
    return r


def test_answer_states_by_group(rnd):
    status = round_answer_status(round=rnd)
    counts = {g.code: g.counts for g in status.groups}
    assert counts["all"] == {"submitted": 4, "complete": 2, "partial": 2, "not_started": 2}
    assert counts["law"] == {"submitted": 3, "complete": 1, "partial": 0, "not_started": 0}
    assert counts["clinical"] == {"submitted": 1, "complete": 1, "partial": 1, "not_started": 1}
    assert counts["dispatch"] == {"submitted": 0, "complete": 0, "partial": 1, "not_started": 1}


def test_quorum_under_the_default_policy_counts_complete_drafts(rnd):
    q = round_quorum(round=rnd)
    assert q.policy == "complete"
    assert (q.eligible, q.counted, q.needed) == (10, 6, 5)
    assert q.rate == pytest.approx(0.6)
    groups = {g.code: g for g in q.groups}
    # Default minimum per group: the study's smallest group size (3).
    assert q.min_per_group == 3
    assert (groups["law"].counted, groups["law"].met) == (4, True)
    assert (groups["clinical"].counted, groups["clinical"].met) == (2, False)
    assert (groups["dispatch"].counted, groups["dispatch"].met) == (0, False)
    assert not q.met
    assert q.reasons == ["Clinical: 2 responses, 3 needed.", "Dispatch: 0 responses, 3 needed."]


@pytest.mark.parametrize(
    "policy, counted, met_overall",
    [("submitted", 4, False), ("complete", 6, True), ("rated", 8, True)],
)
def test_each_drafts_policy(study, researcher, policy, counted, met_overall):
    # The policy a round counts under is the one frozen when it opened.
    Study.objects.filter(pk=study.pk).update(drafts_policy=policy, quorum_min_per_group=0)
    study.refresh_from_db()
    rnd = world.open_round(study, researcher)
    world.populate(study, rnd)
    Study.objects.filter(pk=study.pk).update(drafts_policy="complete")
    rnd.refresh_from_db()
    q = round_quorum(round=rnd)
    assert q.policy == policy
    assert q.counted == counted
    assert q.met is met_overall


def test_quorum_met_when_thresholds_allow(rnd):
    study = rnd.study
    study.quorum_pct = 60
    study.quorum_min_per_group = 0
    assert round_quorum(round=rnd).met
    study.quorum_pct = 61
    q = round_quorum(round=rnd)
    assert not q.met and q.needed == 7
    assert "6 of 10 eligible panelists (60 %)" in q.reasons[0]


def test_a_researcher_cannot_close_below_quorum_without_a_reason(rnd, researcher):
    with pytest.raises(ValidationError) as exc:
        round_close(round=rnd, by=researcher)
    assert "below its quorum" in str(exc.value)
    assert "Clinical: 2 responses, 3 needed." in str(exc.value)
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.OPEN
    assert not Deviation.objects.exists()


def test_closing_below_quorum_with_a_reason_is_a_deviation(rnd, researcher, study):
    round_close(round=rnd, by=researcher, reason="Funding ends this week.")
    rnd.refresh_from_db()
    assert rnd.status in (Round.Status.CLOSED, Round.Status.ANALYSED)
    assert rnd.below_quorum is True
    assert rnd.quorum_at_close["counted"] == 6
    dev = Deviation.objects.get(study=study)
    assert dev.field == "round_close_below_quorum"
    assert dev.reason == "Funding ends this week."
    assert dev.by == researcher
    assert dev.new_value["shortfalls"][0].startswith("Clinical")


def test_the_sweep_closing_below_quorum_records_why(rnd, study):
    round_close(round=rnd, by=None)
    rnd.refresh_from_db()
    assert rnd.below_quorum
    assert "scheduled sweep" in Deviation.objects.get(study=study).reason


def test_closing_at_quorum_needs_no_reason(rnd, researcher, study):
    study.quorum_min_per_group = 0
    study.save()
    rnd.refresh_from_db()
    round_close(round=rnd, by=researcher)
    rnd.refresh_from_db()
    assert not rnd.below_quorum
    assert not Deviation.objects.exists()
