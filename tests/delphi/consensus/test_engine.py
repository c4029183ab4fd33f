"""The consensus engine: loading ratings, claiming runs, persisting results, the next round."""

import math
import random
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.utils import timezone

from delphi.consensus import selectors, services
from delphi.models import (
    ConsensusRun,
    GroupConcordance,
    ItemChange,
    ItemDecision,
    ItemResult,
    Response,
    Round,
    RoundItem,
)
from delphi.services.sweep_tasks import rounds_close_due
from tests import factories as f


def close(rnd):
    now = timezone.now()
    Round.objects.filter(pk=rnd.pk).update(
        status=Round.Status.CLOSED, opened_at=now - timedelta(days=7), closed_at=now
    )
    rnd.refresh_from_db()
    return rnd


def build_round(study, *, items=6, per_group=4, seed=1, statements=None, number=1):
    """A closed rating round: every panelist of every group rates every item.

    Item 0 is rated 8-9 by everyone (consensus in), item 1 is rated 1-2 (consensus out), the
    rest spread over the scale (no consensus), with one "unable to rate" per item.
    """
    rng = random.Random(seed)
    statements = statements or [f.make_statement(study) for _ in range(items)]
    rnd = f.make_round(study, number=number, statements=statements)
    round_items = list(rnd.items.order_by("order"))
    panelists = list(study.panel.panelists.all())
    if not panelists:
        for group in study.panel.groups.all():
            for _ in range(per_group):
                f.make_panelist(study, group=group)
        panelists = list(study.panel.panelists.all())
    for p_index, panelist in enumerate(panelists):
        values = {}
        for i_index, item in enumerate(round_items):
            if i_index == 0:
                values[item] = rng.choice([8, 9])
            elif i_index == 1:
                values[item] = rng.choice([1, 2])
            elif p_index == i_index:
                values[item] = None
            else:
                values[item] = rng.randint(1, 9)
        f.rate(panelist, rnd, values)
    return close(rnd)


@pytest.fixture
def eager(monkeypatch):
    """Run tasks in-process even when REDIS_URL is set (CI): these tests have no worker."""
    from delphi.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)


@pytest.fixture
def closed_round(study):
    return build_round(study)


def groups_plus_aggregates(study):
    return study.panel.groups.count() + 2


# --- the selector -----------------------------------------------------------------------------


def test_frame_holds_submitted_ratings_with_unable_as_nan(study, closed_round):
    frame = selectors.round_ratings_frame(round=closed_round)
    assert list(frame.columns) == ["panelist", "group", "item", "value"]
    assert len(frame) == 12 * 6
    assert set(frame["group"]) == {"law", "clinical", "dispatch"}
    codes = set(closed_round.items.values_list("statement__code", flat=True))
    assert set(frame["item"]) == codes
    assert frame["value"].isna().sum() == 4  # panelists 2..5 each have one unable
    assert frame["panelist"].str.startswith("P-").all()


def test_frame_leaves_out_drafts_and_excluded_responses(study, closed_round):
    responses = list(Response.objects.filter(round=closed_round).order_by("id"))
    Response.objects.filter(pk=responses[0].pk).update(
        status=Response.Status.DRAFT, submitted_at=None
    )
    Response.objects.filter(pk=responses[1].pk).update(excluded=True)
    frame = selectors.round_ratings_frame(round=closed_round, policy="submitted")
    assert len(frame) == 10 * 6
    excluded = {responses[0].panelist.public_id, responses[1].panelist.public_id}
    assert not excluded & set(frame["panelist"])


def test_frame_loads_in_three_queries_whatever_the_size(study, django_assert_num_queries):
    # The engine passes the drafts policy it read with the protocol (round_protocol).
    small = build_round(study, items=3, per_group=2)
    with django_assert_num_queries(3):  # item keys + responses + ratings
        selectors.round_ratings_frame(round=small, policy="complete")
    big = build_round(study, items=12, number=2)
    with django_assert_num_queries(3):
        frame = selectors.round_ratings_frame(round=big, policy="complete")
    assert len(frame) == 6 * 12


def test_two_rounds_load_in_one_pass_with_the_digest_of_their_frames(
    study, django_assert_num_queries
):
    first = build_round(study, items=4, per_group=3)
    second = build_round(study, items=4, per_group=3, number=2, seed=2)
    second = Round.objects.select_related("study").get(pk=second.pk)  # as the engine has it
    # item keys + two rounds' responses + ONE read of both rounds' ratings
    with django_assert_num_queries(4):
        current, previous = selectors.rounds_ratings(round=second, previous=first)
    assert len(current.frame) == len(previous.frame) == 9 * 4
    assert current.frame.equals(selectors.round_ratings_frame(round=second))
    assert previous.frame.equals(selectors.round_ratings_frame(round=first))
    # The digest computed from the integer arrays equals the digest of the frame itself.
    assert current.digest == services.frame_digest(current.frame)
    assert previous.digest == services.frame_digest(previous.frame)
    assert current.digest != previous.digest


def test_item_keys_pair_scenarios_and_reworded_statements_across_rounds(study):
    s1, s2 = f.make_statement(study, code="A1"), f.make_statement(study, code="A2")
    scenario = f.make_scenario(study, code="SC1")
    r1 = f.make_round(study, statements=[s1, s2])
    RoundItem.objects.create(round=r1, statement=s1, scenario=scenario, order=5)
    keys1 = selectors.round_item_keys(round=r1)
    assert sorted(keys1.values()) == ["A1", "A1@SC1", "A2"]

    reworded = f.make_statement(study, code="A2r", revision_of=s2)
    r2 = f.make_round(study, number=2)
    by_key = {v: k for k, v in keys1.items()}
    RoundItem.objects.create(round=r2, statement=s1, order=0, carried_from_id=by_key["A1"])
    RoundItem.objects.create(round=r2, statement=reworded, order=1, carried_from_id=by_key["A2"])
    keys2 = selectors.round_item_keys(round=r2)
    assert sorted(keys2.values()) == ["A1", "A2"]  # the rewording pairs with A2


def test_an_inherited_key_never_collides_with_an_item_of_the_same_round(study):
    s1 = f.make_statement(study, code="B1")
    r1 = f.make_round(study, statements=[s1])
    reworded = f.make_statement(study, code="B1r", revision_of=s1)
    r2 = f.make_round(study, number=2, statements=[s1])
    RoundItem.objects.create(round=r2, statement=reworded, order=1, carried_from=r1.items.get())
    assert sorted(selectors.round_item_keys(round=r2).values()) == ["B1", "B1r"]


# --- a run from start to finish ---------------------------------------------------------------


def test_compute_now_persists_one_row_per_item_and_group_and_marks_the_round_analysed(
    study, closed_round
):
    run = services.consensus_compute_now(round=closed_round)
    assert run.status == ConsensusRun.Status.DONE, run.error
    assert run.progress == 100 and run.attempts == 1 and len(run.fingerprint) == 64
    assert run.timings["ratings"] == 72
    closed_round.refresh_from_db()
    assert closed_round.status == Round.Status.ANALYSED and closed_round.analysed_at
    assert ItemResult.objects.filter(round=closed_round).count() == 6 * groups_plus_aggregates(
        study
    )
    assert ItemDecision.objects.filter(round=closed_round).count() == 6
    assert GroupConcordance.objects.filter(round=closed_round).exists()

    items = list(closed_round.items.order_by("order"))
    everyone = {
        r.item_id: r for r in ItemResult.objects.filter(round=closed_round, group_key="all")
    }
    top = everyone[items[0].pk]
    assert top.n == 12 and top.n_unable == 0 and top.pct_high == 100.0
    assert sum(top.histogram.values()) == 12 and set(top.histogram) == {
        str(v) for v in range(1, 10)
    }
    assert top.histogram["1"] == 0
    law = ItemResult.objects.get(round=closed_round, item=items[0], group_key="law")
    assert law.group.code == "law" and law.n == 4
    assert ItemResult.objects.get(round=closed_round, item=items[0], group_key="all").group is None

    decisions = {d.item_id: d for d in ItemDecision.objects.filter(round=closed_round)}
    assert decisions[items[0].pk].verdict == "in" and not decisions[items[0].pk].carried_forward
    assert decisions[items[1].pk].verdict == "out"
    assert {"comet", "ram", "iqr"} <= set(decisions[items[0].pk].preset_verdicts)


def test_persisted_statistics_match_the_pure_module(study, closed_round):
    from delphi.consensus.stats import Scale, compute_round

    services.consensus_compute_now(round=closed_round)
    expected = compute_round(
        selectors.round_ratings_frame(round=closed_round),
        None,
        scale=Scale.parse("1-9"),
        definition=study.consensus_definition,
    ).items
    keys = selectors.round_item_keys(round=closed_round)
    stored = {
        (keys[r.item_id], r.group_key): r for r in ItemResult.objects.filter(round=closed_round)
    }
    assert len(stored) == len(expected)
    for rec in expected.to_dict("records"):
        row = stored[(rec["item"], rec["group_key"])]
        for name in ("n", "median", "q1", "q3", "mean", "sd", "pct_high", "rwg", "ipr"):
            want = rec[name]
            got = getattr(row, name)
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got is None, (name, rec["item"], rec["group_key"])
            else:
                assert got == pytest.approx(float(want)), (name, rec["item"], rec["group_key"])


def test_a_rerun_of_unchanged_ratings_writes_nothing(study, closed_round):
    services.consensus_compute_now(round=closed_round)
    ids_before = sorted(ItemResult.objects.filter(round=closed_round).values_list("id", flat=True))
    analysed_at = Round.objects.get(pk=closed_round.pk).analysed_at
    again = services.consensus_compute_now(round=closed_round)
    assert again.status == ConsensusRun.Status.DONE
    assert "unchanged" in again.stage
    assert sorted(ItemResult.objects.filter(round=closed_round).values_list("id", flat=True)) == (
        ids_before
    )
    assert Round.objects.get(pk=closed_round.pk).analysed_at == analysed_at


def test_a_rerun_after_a_change_replaces_the_rows_without_adding_any(study, closed_round):
    first = services.consensus_compute_now(round=closed_round)
    count = ItemResult.objects.filter(round=closed_round).count()
    Response.objects.filter(pk=Response.objects.filter(round=closed_round).first().pk).update(
        excluded=True
    )
    second = services.consensus_compute_now(round=closed_round)
    assert second.status == ConsensusRun.Status.DONE and "unchanged" not in second.stage
    assert second.fingerprint != first.fingerprint
    assert ItemResult.objects.filter(round=closed_round).count() == count
    assert ItemDecision.objects.filter(round=closed_round).count() == 6
    assert (
        ItemResult.objects.get(
            round=closed_round, group_key="all", item=closed_round.items.order_by("order").first()
        ).n
        == 11
    )


def test_the_fingerprint_does_not_depend_on_row_order(study, closed_round):
    frame = selectors.round_ratings_frame(round=closed_round)
    shuffled = frame.sample(frac=1, random_state=3).reset_index(drop=True)
    assert services.frame_digest(frame) == services.frame_digest(shuffled)
    changed = frame.copy()
    changed.loc[0, "value"] = 5.0 if changed.loc[0, "value"] != 5.0 else 6.0
    assert services.frame_digest(changed) != services.frame_digest(frame)


def test_round_two_measures_stability_against_round_one(study, closed_round):
    services.consensus_compute_now(round=closed_round)
    rnd2 = services.round_create_next(round=closed_round, by=None)
    items2 = list(rnd2.items.order_by("order"))
    now = timezone.now()
    Round.objects.filter(pk=rnd2.pk).update(status=Round.Status.OPEN, opened_at=now)
    for panelist in study.panel.panelists.all():
        f.rate(panelist, rnd2, {item: 5 for item in items2})
    close(rnd2)
    run = services.consensus_compute_now(round=rnd2)
    assert run.status == ConsensusRun.Status.DONE, run.error
    row = ItemResult.objects.get(round=rnd2, item=items2[0], group_key="all")
    assert row.n_paired is not None and row.n_paired >= 10
    assert row.pct_change is not None and row.stable is not None


# --- claiming, failing, retrying ---------------------------------------------------------------


def test_a_second_delivery_of_a_finished_run_does_nothing(study, closed_round):
    run = services.consensus_compute_now(round=closed_round)
    assert services.consensus_run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.attempts == 1


def test_a_live_running_run_is_not_claimed_twice(study, closed_round):
    run = ConsensusRun.objects.create(
        round=closed_round,
        status=ConsensusRun.Status.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now(),
    )
    with pytest.raises(services.RunBusy):
        services.consensus_run_execute(run_id=run.pk)
    assert not ItemResult.objects.filter(round=closed_round).exists()


def test_a_stale_running_run_is_reclaimed_and_finished_once(study, closed_round):
    run = ConsensusRun.objects.create(
        round=closed_round,
        status=ConsensusRun.Status.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - timedelta(seconds=services.STALE_AFTER + 5),
    )
    done = services.consensus_run_execute(run_id=run.pk)
    assert done.status == ConsensusRun.Status.DONE and done.attempts == 2
    assert ItemResult.objects.filter(round=closed_round).count() == 6 * groups_plus_aggregates(
        study
    )


def test_an_attempt_that_lost_its_claim_writes_nothing(study, closed_round, monkeypatch):
    def steal(run_id, attempt):
        # A redelivered copy re-claims the run while this attempt computes.
        ConsensusRun.objects.filter(pk=run_id).update(attempts=attempt + 1)

    monkeypatch.setattr(services, "_slow_for_tests", steal)
    run = ConsensusRun.objects.create(round=closed_round)
    services.consensus_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == ConsensusRun.Status.RUNNING and run.attempts == 2
    assert not ItemResult.objects.filter(round=closed_round).exists()
    assert Round.objects.get(pk=closed_round.pk).status == Round.Status.CLOSED


def test_an_open_round_fails_with_a_reason(study):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.OPEN, opened_at=timezone.now())
    rnd.refresh_from_db()
    run = services.consensus_compute_now(round=rnd)
    assert run.status == ConsensusRun.Status.FAILED
    assert "close it before computing" in run.error
    assert run.finished_at is not None


def test_a_round_without_ratings_fails_with_a_reason(study):
    rnd = close(f.make_round(study, statements=[f.make_statement(study)]))
    run = services.consensus_compute_now(round=rnd)
    assert run.status == ConsensusRun.Status.FAILED
    assert "no ratings to analyse" in run.error and "0 submitted" in run.error


def test_a_computation_error_marks_the_run_failed_and_keeps_earlier_results(
    study, closed_round, monkeypatch
):
    services.consensus_compute_now(round=closed_round)
    count = ItemResult.objects.filter(round=closed_round).count()
    Response.objects.filter(pk=Response.objects.filter(round=closed_round).first().pk).update(
        excluded=True
    )

    def boom(*args, **kwargs):
        raise ValueError("the definition names an unknown measure 'pct_top'")

    monkeypatch.setattr("delphi.consensus.stats.compute_round", boom)
    run = services.consensus_compute_now(round=closed_round)
    assert run.status == ConsensusRun.Status.FAILED
    assert "unknown measure 'pct_top'" in run.error
    assert ItemResult.objects.filter(round=closed_round).count() == count


def test_a_transient_error_puts_the_run_back_in_the_queue(study, closed_round, monkeypatch):
    def flaky(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "rounds_ratings", flaky)
    run = ConsensusRun.objects.create(round=closed_round)
    with pytest.raises(OperationalError):
        services.consensus_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == ConsensusRun.Status.QUEUED and run.attempts == 1
    monkeypatch.undo()
    assert services.consensus_run_execute(run_id=run.pk).status == ConsensusRun.Status.DONE


def test_the_task_retries_transient_errors_then_gives_up_visibly(study, closed_round, monkeypatch):
    from delphi.consensus import tasks

    calls = []

    def flaky(**kwargs):
        calls.append(1)
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(selectors, "rounds_ratings", flaky)
    run = ConsensusRun.objects.create(round=closed_round)
    # Eager mode runs the retries at once, without the backoff countdown.
    tasks.consensus_run.apply(args=[run.pk])
    run.refresh_from_db()
    assert len(calls) == tasks.MAX_RETRIES + 1
    assert run.status == ConsensusRun.Status.FAILED
    assert "Gave up after" in run.error and "could not connect" in run.error


def test_start_enqueues_after_commit_and_does_not_queue_twice(
    study, closed_round, django_capture_on_commit_callbacks, eager
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.consensus_run_start(round=closed_round, by=None)
        same = services.consensus_run_start(round=closed_round, by=None)
    assert same.pk == run.pk and len(callbacks) == 1
    assert not ItemResult.objects.exists()  # nothing runs before the commit
    callbacks[0]()
    run.refresh_from_db()
    assert run.status == ConsensusRun.Status.DONE


def test_closing_a_round_by_hand_computes_its_results(
    study, researcher, django_capture_on_commit_callbacks, eager
):
    from delphi.services.rounds import round_close

    rnd = build_round(study)
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.OPEN, closed_at=None)
    rnd.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        round_close(round=rnd, by=researcher)
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.ANALYSED
    assert ItemResult.objects.filter(round=rnd).count() == 6 * groups_plus_aggregates(study)


def test_the_deadline_sweep_closes_due_rounds_only(
    study, django_capture_on_commit_callbacks, eager
):
    due = build_round(study)
    later = build_round(study, number=2)
    past, future = timezone.now() - timedelta(minutes=1), timezone.now() + timedelta(days=1)
    Round.objects.filter(pk=due.pk).update(status=Round.Status.OPEN, closed_at=None, closes_at=past)
    Round.objects.filter(pk=later.pk).update(
        status=Round.Status.OPEN, closed_at=None, closes_at=future
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert rounds_close_due() == 1
    assert Round.objects.get(pk=due.pk).status == Round.Status.ANALYSED
    assert Round.objects.get(pk=later.pk).status == Round.Status.OPEN
    assert rounds_close_due() == 0


def test_management_command_computes_now(study, closed_round, capsys):
    call_command("consensus", "--round", str(closed_round.uuid))
    assert "Done" in capsys.readouterr().out
    assert Round.objects.get(pk=closed_round.pk).status == Round.Status.ANALYSED
    with pytest.raises(CommandError, match="No round"):
        call_command("consensus", "--round", "00000000-0000-0000-0000-000000000000")


def test_management_command_reports_a_failure(study):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    with pytest.raises(CommandError, match="close it before computing"):
        call_command("consensus", "--round", str(rnd.uuid))


# --- the next round ----------------------------------------------------------------------------


def test_next_round_carries_the_items_without_consensus_in_order(study, closed_round):
    services.consensus_compute_now(round=closed_round)
    carried = list(
        ItemDecision.objects.filter(round=closed_round, carried_forward=True)
        .order_by("item__order")
        .values_list("item_id", flat=True)
    )
    assert carried, "the fixture should leave some items without consensus"
    new = services.round_create_next(round=closed_round, by=None)
    assert new.number == 2 and new.status == Round.Status.DRAFT
    items = list(new.items.order_by("order"))
    assert [i.carried_from_id for i in items] == carried
    assert [i.order for i in items] == list(range(len(carried)))
    assert ItemChange.objects.filter(round=new, action=ItemChange.Action.CARRIED).count() == len(
        carried
    )
    assert ItemChange.objects.filter(round=new, action=ItemChange.Action.RETIRED).count() == (
        6 - len(carried)
    )
    with pytest.raises(ValidationError, match="Round 2 already exists"):
        services.round_create_next(round=closed_round, by=None)


def test_next_round_refuses_a_round_not_yet_analysed(study, closed_round):
    with pytest.raises(ValidationError, match="not been analysed"):
        services.round_create_next(round=closed_round, by=None)
    assert not Round.objects.filter(study=study, number=2).exists()


def test_a_queued_run_whose_message_was_lost_does_not_block_a_new_one(
    study, closed_round, django_capture_on_commit_callbacks
):
    lost = ConsensusRun.objects.create(round=closed_round)
    ConsensusRun.objects.filter(pk=lost.pk).update(
        queued_at=timezone.now() - timedelta(seconds=services.QUEUED_PATIENCE + 1)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        fresh = services.consensus_run_start(round=closed_round, by=None)
    assert fresh.pk != lost.pk and len(callbacks) == 1


def test_the_drafted_next_round_opens_through_the_round_services(study, researcher, closed_round):
    from delphi.services.rounds import round_open

    services.consensus_compute_now(round=closed_round)
    new = services.round_create_next(round=closed_round, by=researcher)
    opened = round_open(round=new, by=researcher)
    assert opened.status == Round.Status.OPEN
    assert opened.rule_snapshot["consensus_definition"] == study.consensus_definition
    carried = set(opened.items.values_list("carried_from__statement_id", flat=True))
    assert carried == set(opened.items.values_list("statement_id", flat=True))


def test_the_results_page_says_recovering_while_a_dead_run_waits(
    study, closed_round, researcher_client
):
    url = f"/studies/{study.uuid}/rounds/{closed_round.uuid}/results/"
    run = ConsensusRun.objects.create(
        round=closed_round,
        status=ConsensusRun.Status.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now(),
    )
    live = researcher_client.get(url).content.decode()
    assert "Recovering" not in live
    ConsensusRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=services.STALE_AFTER + 1)
    )
    page = researcher_client.get(url).content.decode()
    assert "Recovering" in page and "finishes within about two minutes" in page
    status = researcher_client.get(
        f"/studies/{study.uuid}/rounds/{closed_round.uuid}/runs/{run.uuid}/status.json"
    )
    assert status.json()["status_label"] == "Recovering"
    assert status.json()["finished"] is False
