"""Ranking statistics (delphi.consensus.stats.ranking) against scipy and worked examples."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from delphi.consensus.stats.agreement import kendall_w as rating_kendall_w
from delphi.consensus.stats.ranking import (
    agreement_label,
    check_ranking,
    compute_ranking_round,
    effective_ranks,
    evaluate_ranking_consensus,
    kendall_w_ranks,
)

NAN = math.nan


def long(rows, groups=None):
    """{panelist: {item: rank}} -> the long table compute_ranking_round takes."""
    out = []
    for p, ranks in rows.items():
        for item, rank in ranks.items():
            out.append(
                {"panelist": p, "item": item, "rank": rank, "group": (groups or {}).get(p, "all")}
            )
    return pd.DataFrame(out)


# --- worked examples ---------------------------------------------------------------------------


def test_worked_example_with_a_tie():
    # Three panelists, four items; the third ties B and C at rank 2 (mid-ranks 2.5, 2.5).
    # Rank sums A 4, B 5.5, C 8.5, D 12; mean m(n+1)/2 = 7.5; S = 12.25 + 4 + 1 + 20.25 = 37.5.
    # One tie of two: T = 2^3 - 2 = 6. W = 12 * 37.5 / (9 * 60 - 3 * 6) = 450 / 522 = 25/29.
    eff = effective_ranks(np.array([[1, 2, 3, 4], [2, 1, 3, 4], [1, 2, 2, 4]], dtype=float))
    assert eff[2].tolist() == [1, 2.5, 2.5, 4]
    out = kendall_w_ranks(eff)
    assert out["kendall_w"] == pytest.approx(25 / 29, abs=1e-12)
    assert out["chi2"] == pytest.approx(225 / 29, abs=1e-12)  # m (n - 1) W
    assert out["df"] == 3
    assert out["p"] == pytest.approx(stats.chi2.sf(225 / 29, 3))
    # Without the tie correction it would be 450 / 540: the correction matters.
    assert out["kendall_w"] != pytest.approx(450 / 540)


def test_dense_and_competition_ties_give_the_same_mid_ranks():
    a = effective_ranks(np.array([[1, 2, 2, 4]], dtype=float))
    b = effective_ranks(np.array([[1, 2, 2, 3]], dtype=float))
    assert a.tolist() == b.tolist() == [[1, 2.5, 2.5, 4]]


def test_top_k_unranked_items_share_the_mean_of_the_remaining_ranks():
    # Five items, top 2: the three left out share places 3, 4, 5, i.e. rank 4 each.
    eff = effective_ranks(np.array([[1, 2, NAN, NAN, NAN], [NAN, 1, 2, NAN, NAN]]))
    assert eff.tolist() == [[1, 2, 4, 4, 4], [4, 1, 2, 4, 4]]
    assert eff.sum(axis=1).tolist() == [15, 15]  # n (n + 1) / 2, as for any complete ranking
    # By hand: R = 5, 3, 6, 8, 8; mean 6; S = 1 + 9 + 0 + 4 + 4 = 18; T = 24 per panelist.
    # W = 12 * 18 / (4 * 120 - 2 * 48) = 216 / 384 = 0.5625.
    assert kendall_w_ranks(eff)["kendall_w"] == pytest.approx(0.5625)


def test_perfect_agreement_and_perfect_disagreement():
    same = np.tile(np.arange(1, 7, dtype=float), (5, 1))
    assert kendall_w_ranks(same)["kendall_w"] == pytest.approx(1.0)
    opposite = np.array([[1, 2, 3, 4], [4, 3, 2, 1]], dtype=float)
    assert kendall_w_ranks(opposite)["kendall_w"] == pytest.approx(0.0)


def test_undefined_cases():
    one = kendall_w_ranks(np.array([[1, 2, 3]], dtype=float))
    assert math.isnan(one["kendall_w"]) and one["df"] is None and one["n_panelists"] == 1
    all_tied = kendall_w_ranks(effective_ranks(np.ones((4, 3))))
    assert math.isnan(all_tied["kendall_w"]) and math.isnan(all_tied["p"])
    one_item = kendall_w_ranks(np.ones((3, 1)))
    assert math.isnan(one_item["kendall_w"])


# --- against independent implementations -------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_chi2_equals_scipy_friedman(seed, ties):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(3, 30)), int(rng.integers(3, 12))
    if ties:
        raw = rng.integers(1, max(2, n // 2) + 1, size=(m, n)).astype(float)
    else:
        raw = np.array([rng.permutation(n) + 1 for _ in range(m)], dtype=float)
    eff = effective_ranks(raw)
    out = kendall_w_ranks(eff)
    fried = stats.friedmanchisquare(*raw.T)
    assert out["chi2"] == pytest.approx(fried.statistic, rel=1e-10)
    assert out["p"] == pytest.approx(fried.pvalue, rel=1e-8, abs=1e-300)


@pytest.mark.parametrize("seed", range(5))
def test_top_k_chi2_equals_scipy_friedman_on_the_completed_ranks(seed):
    rng = np.random.default_rng(100 + seed)
    m, n, k = 12, 8, 3
    raw = np.full((m, n), NAN)
    for i in range(m):
        raw[i, rng.permutation(n)[:k]] = np.arange(1, k + 1)
    out = kendall_w_ranks(effective_ranks(raw))
    # Friedman's test sees the left-out items as tied below every ranked one.
    fried = stats.friedmanchisquare(*np.where(np.isnan(raw), k + 1, raw).T)
    assert out["chi2"] == pytest.approx(fried.statistic, rel=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_mean_spearman_identity_without_ties(seed):
    # Average Spearman rho over all panelist pairs = (m W - 1) / (m - 1) (Kendall 1948).
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 9)), int(rng.integers(3, 15))
    raw = np.array([rng.permutation(n) + 1 for _ in range(m)], dtype=float)
    w = kendall_w_ranks(raw)["kendall_w"]
    rhos = [
        stats.spearmanr(raw[a], raw[b]).statistic for a, b in itertools.combinations(range(m), 2)
    ]
    assert np.mean(rhos) == pytest.approx((m * w - 1) / (m - 1), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_the_rating_rounds_kendall_w(seed):
    # The rating module computes W from scale positions with its own tie handling (histograms);
    # integer ranks with ties are a scale of n positions, so both must agree.
    rng = np.random.default_rng(seed)
    m, n = 9, 6
    raw = rng.integers(1, n + 1, size=(m, n))
    ours = kendall_w_ranks(effective_ranks(raw.astype(float)))
    theirs = rating_kendall_w(raw - 1, n)
    assert ours["kendall_w"] == pytest.approx(theirs["kendall_w"], rel=1e-12)
    assert ours["p"] == pytest.approx(theirs["p"], rel=1e-10)


# --- a round ------------------------------------------------------------------------------------


def test_round_items_and_groups():
    rows = {
        "p1": {"A": 1, "B": 2, "C": 3},
        "p2": {"A": 1, "B": 3, "C": 2},
        "p3": {"A": 2, "B": 1, "C": 3},
        "p4": {"A": 3, "B": 1, "C": 2},
    }
    groups = {"p1": "clin", "p2": "clin", "p3": "peer", "p4": "peer"}
    res = compute_ranking_round(long(rows, groups), items=["A", "B", "C"])
    items = res.items.set_index(["item", "group_key"])
    a = items.loc[("A", "all")]
    assert a["n"] == 4 and a["mean_rank"] == pytest.approx(7 / 4)
    assert a["median_rank"] == pytest.approx(1.5)
    assert a["sd_rank"] == pytest.approx(np.std([1, 1, 2, 3], ddof=1))
    assert a["distribution"] == {"1": 2, "2": 1, "3": 1}
    assert items.loc[("A", "clin"), "mean_rank"] == 1.0
    assert items.loc[("B", "peer"), "mean_rank"] == 1.0
    conc = res.concordance.set_index("group_key")
    assert list(conc.index) == ["all", "clin", "peer"]
    assert conc.loc["all", "n_panelists"] == 4 and conc.loc["clin", "n_panelists"] == 2
    # clin by hand: R = 2, 5, 5; mean m (n + 1) / 2 = 4; S = 4 + 1 + 1 = 6; W = 72 / 96.
    assert conc.loc["clin", "kendall_w"] == pytest.approx(0.75)
    assert res.consensus["reached"] is False  # whole panel W is low
    assert math.isnan(conc.loc["all", "w_change"])  # no previous round


def test_round_top_k_distribution_counts_unranked():
    rows = {"p1": {"A": 1, "B": 2}, "p2": {"B": 1, "C": 2}, "p3": {"A": 1, "C": 2}}
    res = compute_ranking_round(long(rows), items=["A", "B", "C", "D"])
    items = res.items.set_index("item")
    assert items.loc["A", "distribution"] == {"1": 2, "unranked": 1}
    assert items.loc["D", "distribution"] == {"unranked": 3}
    assert items.loc["D", "n_ranked"] == 0 and items.loc["D", "mean_rank"] == 3.5
    assert items.loc["A", "mean_rank"] == pytest.approx((1 + 1 + 3.5) / 3)


def test_change_between_rounds_and_consensus_rule():
    r1 = {
        f"p{i}": {"A": 1 + (i % 3), "B": 1 + ((i + 1) % 3), "C": 1 + ((i + 2) % 3)}
        for i in range(6)
    }
    r2 = {f"p{i}": {"A": 1, "B": 2, "C": 3} for i in range(6)}
    r2["p0"] = {"A": 2, "B": 1, "C": 3}
    first = compute_ranking_round(long(r1), items=["A", "B", "C"])
    second = compute_ranking_round(long(r2), first, items=["A", "B", "C"], threshold=0.7)
    c1 = first.concordance.set_index("group_key").loc["all"]
    c2 = second.concordance.set_index("group_key").loc["all"]
    assert c1["kendall_w"] == pytest.approx(0.0)
    assert c2["w_change"] == pytest.approx(c2["kendall_w"] - c1["kendall_w"])
    a = second.items.set_index(["item", "group_key"]).loc[("A", "all")]
    assert a["prev_mean_rank"] == pytest.approx(2.0)
    assert a["mean_rank_change"] == pytest.approx(7 / 6 - 2.0)
    assert second.consensus["reached"] is True
    assert second.consensus["agreement"] in {"strong agreement", "unusually strong agreement"}
    assert first.consensus["reached"] is False


def test_consensus_rule_and_schmidt_labels():
    assert evaluate_ranking_consensus(0.7, 0.7)["reached"] is True
    assert evaluate_ranking_consensus(0.69, 0.7)["reached"] is False
    assert evaluate_ranking_consensus(NAN, 0.7)["reached"] is False
    assert agreement_label(0.95) == "unusually strong agreement"
    assert agreement_label(0.55) == "moderate agreement"
    assert agreement_label(0.05) == "no agreement"
    assert agreement_label(NAN) == ""


def test_unknown_item_is_refused():
    with pytest.raises(ValueError, match="not items of the round"):
        compute_ranking_round(long({"p1": {"A": 1, "Z": 2}}), items=["A", "B"])


# --- one panelist's ranking ----------------------------------------------------------------------


ITEMS = ["A", "B", "C", "D"]


def test_check_ranking_accepts_a_complete_ranking():
    assert check_ranking({"A": 2, "B": 1, "C": 4, "D": 3}, items=ITEMS) == []


def test_check_ranking_refuses_duplicates_unless_ties_allowed():
    problems = check_ranking({"A": 1, "B": 1, "C": 3, "D": 4}, items=ITEMS)
    assert problems == ["A and B both have rank 1; each rank can be given once."]
    assert check_ranking({"A": 1, "B": 1, "C": 3, "D": 4}, items=ITEMS, allow_ties=True) == []


def test_check_ranking_out_of_range_unknown_and_incomplete():
    assert check_ranking({"A": 5}, items=ITEMS, complete=False) == ["A: rank 5 is outside 1..4."]
    assert check_ranking({"Z": 1}, items=ITEMS, complete=False) == [
        "'Z' is not an item of this round."
    ]
    assert check_ranking({"A": "x"}, items=ITEMS, complete=False)[0].startswith("A: 'x' is not")
    assert check_ranking({"A": 1, "B": 2}, items=ITEMS) == [
        "2 of 4 items are ranked; rank every item."
    ]
    assert check_ranking({"A": 1, "B": 2}, items=ITEMS, complete=False) == []


def test_check_ranking_top_k():
    assert check_ranking({"A": 1, "C": 2}, items=ITEMS, top_k=2) == []
    assert check_ranking({"A": 1, "C": 3}, items=ITEMS, top_k=2) == ["C: rank 3 is outside 1..2."]
    assert check_ranking({"A": 1}, items=ITEMS, top_k=2) == [
        "1 of the 2 places are filled; rank exactly 2 items."
    ]
