"""Closing a ranking round: the consensus run computes and persists the ranking statistics."""

import math
import random
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats

from delphi.consensus import selectors, services
from delphi.consensus.ranking import ranking_consensus
from delphi.models import (
    ConsensusRun,
    ItemResult,
    Ranking,
    RankingConcordance,
    RankingItemResult,
    Response,
    Round,
)
from delphi.services.rounds import round_close
from tests import factories as f
from tests.delphi.consensus.test_engine import build_round, eager  # noqa: F401 (fixture)


def rank(panelist, rnd, order, *, submitted=True):
    """order: RoundItems, first = rank 1 (a shorter list leaves the rest unranked)."""
    response, _ = Response.objects.get_or_create(round=rnd, panelist=panelist)
    Ranking.objects.filter(response=response).delete()
    Ranking.objects.bulk_create(
        Ranking(response=response, item=item, rank=i + 1) for i, item in enumerate(order)
    )
    if submitted:
        Response.objects.filter(pk=response.pk).update(
            status=Response.Status.SUBMITTED, submitted_at=timezone.now()
        )
    return response


def ranking_round(study, *, number=1, n=5, statements=None, seed=3, per_group=3):
    statements = statements or [f.make_statement(study) for _ in range(n)]
    now = timezone.now()
    rnd = f.make_round(
        study,
        number=number,
        kind=Round.Kind.RANKING,
        statements=statements,
        status=Round.Status.OPEN,
        opened_at=now - timedelta(days=3),
    )
    if not study.panel.panelists.exists():
        for group in study.panel.groups.all():
            for _ in range(per_group):
                f.make_panelist(study, group=group)
    rng = random.Random(seed)
    items = list(rnd.items.order_by("order"))
    for panelist in study.panel.panelists.all():
        # A shared tendency (item 0 first) plus noise.
        order = sorted(items, key=lambda i: items.index(i) + rng.uniform(0, 2.5))
        rank(panelist, rnd, order)
    return rnd


@pytest.mark.usefixtures("eager")
def test_closing_a_ranking_round_persists_the_statistics(study, django_capture_on_commit_callbacks):
    rnd = ranking_round(study)
    with django_capture_on_commit_callbacks(execute=True):
        round_close(round=rnd, by=None)
    rnd.refresh_from_db()
    run = ConsensusRun.objects.get(round=rnd)
    assert run.status == "done", run.error
    assert rnd.status == Round.Status.ANALYSED
    items = list(rnd.items.order_by("order"))
    # Against scipy, from the stored rankings themselves.
    matrix = np.array(
        [
            [r.rank for r in Ranking.objects.filter(response=resp).order_by("item__order")]
            for resp in Response.objects.filter(round=rnd).order_by("pk")
        ],
        dtype=float,
    )
    fried = stats.friedmanchisquare(*matrix.T)
    conc = RankingConcordance.objects.get(round=rnd, group_key="all")
    m, n = matrix.shape
    assert (conc.n_panelists, conc.n_items, conc.df) == (m, n, n - 1)
    assert conc.chi2 == pytest.approx(fried.statistic)
    assert conc.p == pytest.approx(fried.pvalue)
    assert conc.kendall_w == pytest.approx(fried.statistic / (m * (n - 1)))
    assert conc.consensus_threshold == 0.7
    assert conc.consensus_reached == (conc.kendall_w >= 0.7)
    groups = set(RankingConcordance.objects.filter(round=rnd).values_list("group_key", flat=True))
    assert groups == {"all", "law", "clinical", "dispatch"}
    first = RankingItemResult.objects.get(round=rnd, item=items[0], group_key="all")
    assert first.n == m
    assert first.mean_rank == pytest.approx(matrix[:, 0].mean())
    assert first.median_rank == pytest.approx(np.median(matrix[:, 0]))
    assert first.sd_rank == pytest.approx(matrix[:, 0].std(ddof=1))
    assert sum(first.distribution.values()) == m
    assert RankingItemResult.objects.filter(round=rnd).count() == n * 4
    assert not ItemResult.objects.filter(round=rnd).exists()
    summary = ranking_consensus(round=rnd)
    assert summary["kendall_w"] == pytest.approx(conc.kendall_w)
    assert summary["reached"] == conc.consensus_reached and summary["agreement"]


def test_rerun_of_unchanged_rankings_changes_nothing(study):
    rnd = ranking_round(study)
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    first = services.consensus_compute_now(round=rnd)
    assert first.status == "done"
    ids = sorted(RankingItemResult.objects.filter(round=rnd).values_list("pk", flat=True))
    again = services.consensus_compute_now(round=rnd)
    assert again.status == "done" and "unchanged" in again.stage
    assert sorted(RankingItemResult.objects.filter(round=rnd).values_list("pk", flat=True)) == ids
    # A changed ranking is a new input: recomputed, and still one set of rows.
    panelist = study.panel.panelists.first()
    rank(panelist, rnd, list(rnd.items.order_by("-order")))
    third = services.consensus_compute_now(round=rnd)
    assert third.status == "done" and third.fingerprint != first.fingerprint
    assert RankingItemResult.objects.filter(round=rnd).count() == len(ids)


def test_drafts_count_under_the_drafts_policy(study):
    rnd = ranking_round(study)
    panelists = list(study.panel.panelists.order_by("pk"))
    items = list(rnd.items.order_by("order"))
    Response.objects.filter(round=rnd, panelist=panelists[0]).update(status="draft")
    rank(panelists[1], rnd, items[:2], submitted=False)
    Response.objects.filter(round=rnd, panelist=panelists[1]).update(status="draft")
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    study.drafts_policy = "complete"
    study.save()
    services.consensus_compute_now(round=rnd)
    # The complete draft counts; the partial one cannot be analysed and is not "left out".
    conc = RankingConcordance.objects.get(round=rnd, group_key="all")
    assert conc.n_panelists == len(panelists) - 1
    study.drafts_policy = "submitted"
    study.save()
    run = services.consensus_compute_now(round=rnd)
    assert (
        RankingConcordance.objects.get(round=rnd, group_key="all").n_panelists == len(panelists) - 2
    )
    assert run.timings["incomplete_rankings"] == 0


def test_incomplete_and_draft_rankings_are_left_out(study):
    study.drafts_policy = "submitted"
    study.save()
    rnd = ranking_round(study)
    panelists = list(study.panel.panelists.all())
    items = list(rnd.items.order_by("order"))
    rank(panelists[0], rnd, items[:2])  # submitted but incomplete (no top-k)
    rank(panelists[1], rnd, items, submitted=False)
    Response.objects.filter(round=rnd, panelist=panelists[1]).update(status="draft")
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    run = services.consensus_compute_now(round=rnd)
    assert run.status == "done"
    assert (
        RankingConcordance.objects.get(round=rnd, group_key="all").n_panelists == len(panelists) - 2
    )
    assert run.timings["incomplete_rankings"] == 1


def test_top_k_rankings_are_analysed_with_the_rest_tied(study):
    study.ranking_top_k = 2
    study.save()
    rnd = ranking_round(study, n=4)
    items = list(rnd.items.order_by("order"))
    for panelist in study.panel.panelists.all():
        rank(panelist, rnd, items[:2])
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    assert services.consensus_compute_now(round=rnd).status == "done"
    last = RankingItemResult.objects.get(round=rnd, item=items[3], group_key="all")
    assert last.mean_rank == 3.5 and last.n_ranked == 0
    assert last.distribution == {"unranked": study.panel.panelists.count()}
    assert RankingConcordance.objects.get(round=rnd, group_key="all").kendall_w == 1.0


def test_no_complete_ranking_fails_the_run_with_the_reason(study):
    rnd = ranking_round(study)
    items = list(rnd.items.order_by("order"))
    for panelist in study.panel.panelists.all():
        rank(panelist, rnd, items[:1])
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    run = services.consensus_compute_now(round=rnd)
    assert run.status == "failed"
    assert "no complete submitted rankings" in run.error and "incomplete" in run.error


def test_second_ranking_round_reports_the_change(study):
    first = ranking_round(study, number=1, seed=1)
    Round.objects.filter(pk=first.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    services.consensus_compute_now(round=first)
    statements = [i.statement for i in first.items.order_by("order")]
    second = ranking_round(study, number=2, statements=statements, seed=2)
    Round.objects.filter(pk=second.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    assert services.consensus_compute_now(round=second).status == "done"
    c1 = RankingConcordance.objects.get(round=first, group_key="all")
    c2 = RankingConcordance.objects.get(round=second, group_key="all")
    assert c2.prev_kendall_w == pytest.approx(c1.kendall_w)
    assert c2.w_change == pytest.approx(c2.kendall_w - c1.kendall_w)
    s0 = statements[0]
    r1 = RankingItemResult.objects.get(round=first, item__statement=s0, group_key="all")
    r2 = RankingItemResult.objects.get(round=second, item__statement=s0, group_key="all")
    assert r2.prev_mean_rank == pytest.approx(r1.mean_rank)
    assert r2.mean_rank_change == pytest.approx(r2.mean_rank - r1.mean_rank)


def test_previous_round_skips_rounds_of_another_kind(study):
    # Rating 1, ranking 2, rating 3: stability of round 3 is measured against round 1.
    r1 = build_round(study, items=4)
    services.consensus_compute_now(round=r1)
    statements = [i.statement for i in r1.items.order_by("order")]
    r2 = ranking_round(study, number=2, statements=statements)
    r3 = build_round(study, statements=statements, number=3)
    assert selectors.round_previous(round=r3) == r1
    assert selectors.round_previous(round=r2) is None
    assert services.consensus_compute_now(round=r3).status == "done"
    row = ItemResult.objects.filter(round=r3, group_key="all").first()
    assert row.n_paired is not None and not math.isnan(row.n_paired)


def test_a_group_of_one_has_no_w_and_the_run_still_succeeds(study):
    study.drafts_policy = "submitted"
    study.save()
    rnd = ranking_round(study, per_group=2)
    law = study.panel.groups.get(code="law")
    keep = law.panelists.first()
    Response.objects.filter(round=rnd, panelist__group=law).exclude(panelist=keep).update(
        status="draft"
    )
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    run = services.consensus_compute_now(round=rnd)
    assert run.status == "done", run.error
    solo = RankingConcordance.objects.get(round=rnd, group_key="law")
    assert solo.n_panelists == 1 and solo.kendall_w is None and solo.df is None
    assert RankingConcordance.objects.get(round=rnd, group_key="clinical").df == 4
