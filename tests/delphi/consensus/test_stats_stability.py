"""Stability between rounds: Wilcoxon signed-rank against scipy, percentage change by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from delphi.consensus.stats import STABILITY_COLUMNS, Scale, compute_round
from delphi.consensus.stats.stability import wilcoxon_from_histograms

COMET = {"preset": "comet", "scope": "all"}


def frame(rows):
    df = pd.DataFrame(rows, columns=["panelist", "group", "item", "value"])
    df["value"] = df["value"].astype(float)
    return df


def diff_hist(d, k=9):
    return np.bincount(np.asarray(d) + k - 1, minlength=2 * k - 1)[None, :]


def test_normal_approximation_matches_scipy_with_ties_and_zeros():
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(150):
        d = rng.integers(-4, 5, int(rng.integers(3, 80)))
        nonzero = d[d != 0]
        if len(nonzero) == 0 or len(set(np.abs(nonzero))) == len(nonzero):
            continue  # the exact branch is tested below
        w = wilcoxon_from_histograms(diff_hist(d))
        ref = stats.wilcoxon(d, zero_method="wilcox", correction=False, method="approx")
        assert w["n_paired"][0] == len(d)
        assert w["wilcoxon_stat"][0] == pytest.approx(ref.statistic)
        assert w["wilcoxon_p"][0] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
        checked += 1
    assert checked > 100


@pytest.mark.parametrize(
    "d", [[1, -2, 3, 4, -5], [2, 3, -1], [8, -7, 6, 5, 4, 3, 2, 1], [0, 0, 1, -3, 4], [-1]]
)
def test_exact_p_without_ties_matches_scipy_exact(d):
    w = wilcoxon_from_histograms(diff_hist(d))
    nonzero = [x for x in d if x]
    ref = stats.wilcoxon(nonzero, zero_method="wilcox", correction=False, method="exact")
    assert bool(w["exact"][0]) is True
    assert w["wilcoxon_stat"][0] == ref.statistic
    assert w["wilcoxon_p"][0] == pytest.approx(ref.pvalue, rel=1e-12)


def test_all_differences_zero_is_empty():
    w = wilcoxon_from_histograms(diff_hist([0, 0, 0]))
    assert w["n_paired"][0] == 3
    assert math.isnan(w["wilcoxon_stat"][0]) and math.isnan(w["wilcoxon_p"][0])


def test_pairs_only_panelists_rating_in_both_rounds():
    prev = frame(
        [("a", "g", "A", 5), ("b", "g", "A", 5), ("c", "g", "A", None), ("d", "g", "A", 4)]
    )
    cur = frame([("a", "g", "A", 7), ("b", "g", "A", None), ("c", "g", "A", 8), ("e", "g", "A", 9)])
    r = compute_round(cur, prev, scale=Scale.parse("1-9"), definition=COMET)
    assert list(r.stability.columns) == STABILITY_COLUMNS
    row = r.stability.set_index("group_key").loc["all"]
    assert row["n_paired"] == 1  # only a rated A validly in both rounds
    ref = stats.wilcoxon([2], zero_method="wilcox", correction=False, method="exact")
    assert row["wilcoxon_p"] == pytest.approx(ref.pvalue)


def test_percentage_change_scheibe():
    # Round 1: 7,7,8,8 (50 % / 50 %); round 2: 7,8,8,8 (25 % / 75 %): change = (25 + 25) / 2.
    prev = frame([(p, "g", "A", v) for p, v in zip("abcd", [7, 7, 8, 8], strict=True)])
    cur = frame([(p, "g", "A", v) for p, v in zip("abcd", [7, 8, 8, 8], strict=True)])
    r = compute_round(cur, prev, scale=Scale.parse("1-9"), definition=COMET)
    row = r.stability.set_index("group_key").loc["all"]
    assert row["pct_change"] == pytest.approx(25.0)
    assert row["stable"] is False
    same = compute_round(prev, prev, scale=Scale.parse("1-9"), definition=COMET)
    row = same.stability.set_index("group_key").loc["all"]
    assert row["pct_change"] == 0 and row["stable"] is True


def test_just_below_fifteen_percent_is_stable():
    # 1 of 7 panelists moves one point: change = 100/7 = 14.3 % < 15 %.
    prev = frame([(f"p{i}", "g", "A", 7) for i in range(7)])
    cur = frame([(f"p{i}", "g", "A", 8 if i == 0 else 7) for i in range(7)])
    r = compute_round(cur, prev, scale=Scale.parse("1-9"), definition=COMET)
    row = r.stability.set_index("group_key").loc["all"]
    assert row["pct_change"] == pytest.approx(100 / 7) and row["stable"] is True


def test_new_item_has_no_stability_and_groups_pair_separately():
    prev = frame([("a", "g1", "A", 5), ("b", "g2", "A", 5)])
    cur = frame(
        [("a", "g1", "A", 6), ("b", "g2", "A", 5), ("a", "g1", "B", 7), ("b", "g2", "B", 7)]
    )
    r = compute_round(cur, prev, scale=Scale.parse("1-9"), definition=COMET)
    s = r.stability.set_index(["item", "group_key"])
    assert len(r.stability) == 2 * 3  # items x (g1, g2, all)
    assert s.loc[("A", "g1"), "n_paired"] == 1 and s.loc[("A", "g1"), "wilcoxon_stat"] == 0
    assert math.isnan(s.loc[("A", "g2"), "wilcoxon_stat"])  # zero difference dropped
    assert s.loc[("B", "all"), "n_paired"] == 0
    assert math.isnan(s.loc[("B", "all"), "pct_change"]) and s.loc[("B", "all"), "stable"] is None


def test_random_rounds_against_scipy_per_group():
    rng = np.random.default_rng(5)
    rows_prev, rows_cur = [], []
    for p in range(90):
        g = ("x", "y", "z")[p % 3]
        for i in range(6):
            a = int(rng.integers(1, 10))
            b = int(np.clip(a + rng.integers(-2, 3), 1, 9))
            rows_prev.append((f"p{p}", g, f"I{i}", a if rng.random() > 0.05 else None))
            rows_cur.append((f"p{p}", g, f"I{i}", b if rng.random() > 0.05 else None))
    prev, cur = frame(rows_prev), frame(rows_cur)
    r = compute_round(cur, prev, scale=Scale.parse("1-9"), definition=COMET)
    s = r.stability.set_index(["item", "group_key"])
    merged = cur.merge(prev, on=["panelist", "item"], suffixes=("", "_prev")).dropna()
    for (item, group), sub in list(merged.groupby(["item", "group"])) + [
        ((item, "all"), sub) for item, sub in merged.groupby("item")
    ]:
        d = (sub["value"] - sub["value_prev"]).to_numpy()
        ref = stats.wilcoxon(d, zero_method="wilcox", correction=False, method="approx")
        assert s.loc[(item, group), "n_paired"] == len(d)
        assert s.loc[(item, group), "wilcoxon_stat"] == pytest.approx(ref.statistic)
        assert s.loc[(item, group), "wilcoxon_p"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_duplicate_in_previous_round_is_refused():
    prev = frame([("a", "g", "A", 5), ("a", "g", "A", 6)])
    cur = frame([("a", "g", "A", 7)])
    with pytest.raises(ValueError, match="previous: a panelist rated the same item more than once"):
        compute_round(cur, prev, scale=Scale.parse("1-9"), definition=COMET)
