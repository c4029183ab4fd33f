"""The attrition-bias check against scipy's Mann–Whitney U and statsmodels' Holm."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu
from statsmodels.stats.multitest import multipletests

from delphi.consensus.stats.attrition import attrition_bias, holm, mann_whitney_u


def _frame(ratings: dict) -> pd.DataFrame:
    """{item: {panelist: value}} -> long frame."""
    return pd.DataFrame(
        [(p, item, v) for item, by in ratings.items() for p, v in by.items()],
        columns=["panelist", "item", "value"],
    )


def _counts(values, lo=1, hi=9):
    return np.bincount(np.asarray(values) - lo, minlength=hi - lo + 1)


@pytest.mark.parametrize("seed", range(8))
def test_u_and_p_match_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 10, size=rng.integers(3, 25))
    y = rng.integers(3, 10, size=rng.integers(3, 40))
    u, p = mann_whitney_u(_counts(x), _counts(y))
    ref = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert u == pytest.approx(ref.statistic)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_identical_ratings_are_no_evidence():
    assert mann_whitney_u(_counts([7, 7, 7]), _counts([7, 7])) == (3.0, 1.0)


def test_holm_matches_statsmodels_and_keeps_missing_values():
    p = [0.01, 0.04, np.nan, 0.03, 0.005, 0.2]
    ours = holm(p)
    ok = ~np.isnan(p)
    ref = multipletests(np.array(p)[ok], method="holm")[1]
    assert np.isnan(ours[2])
    assert ours[ok] == pytest.approx(ref)


def test_a_constructed_panel_where_dropouts_disagree_on_one_item():
    # 12 completers (c*) and 8 dropouts (d*). On A the dropouts rated low while completers
    # rated high; on B and C both groups rated alike.
    completers = [f"c{i}" for i in range(12)]
    dropouts = [f"d{i}" for i in range(8)]
    a = {**{c: v for c, v in zip(completers, [8, 9, 7, 8, 9, 8, 7, 9, 8, 8, 9, 7])},
         **{d: v for d, v in zip(dropouts, [2, 3, 1, 4, 2, 3, 5, 2])}}  # fmt: skip
    b = {**{c: v for c, v in zip(completers, [7, 8, 6, 7, 8, 7, 9, 6, 7, 8, 7, 8])},
         **{d: v for d, v in zip(dropouts, [7, 8, 7, 6, 8, 7, 9, 7])}}  # fmt: skip
    c = {p: 5 + (i % 3) for i, p in enumerate(completers + dropouts)}
    frame = _frame({"A": a, "B": b, "C": c})
    res = attrition_bias(frame, completers, scale_min=1, scale_max=9, top_band=(7, 9))
    rows = res.items.set_index("item")
    assert (res.n_dropouts, res.n_completers, res.n_tested) == (8, 12, 3)
    # Medians and % top band by hand.
    assert rows.loc["A", "median_dropouts"] == 2.5 and rows.loc["A", "median_completers"] == 8
    assert rows.loc["A", "median_diff"] == -5.5
    assert rows.loc["A", "pct_top_dropouts"] == 0 and rows.loc["A", "pct_top_completers"] == 100
    assert rows.loc["B", "pct_top_dropouts"] == pytest.approx(87.5)
    # p-values: scipy per item, then statsmodels' Holm across the three.
    raw = []
    for item, by in (("A", a), ("B", b), ("C", c)):
        x = [by[d] for d in dropouts]
        y = [by[p] for p in completers]
        ref = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
        assert rows.loc[item, "u"] == pytest.approx(ref.statistic)
        assert rows.loc[item, "p"] == pytest.approx(ref.pvalue)
        raw.append(ref.pvalue)
    expected = multipletests(raw, method="holm")[1]
    assert list(rows["p_holm"]) == pytest.approx(list(expected))
    assert list(rows["differs"]) == [True, False, False]
    assert res.flagged and res.differing == ["A"]
    assert res.summary.startswith("The 8 dropouts rated 1 of 3 items differently from the 12")


def test_no_dropouts_and_one_sided_items():
    frame = _frame({"A": {"p1": 7, "p2": 8}, "B": {"p1": 3}})
    res = attrition_bias(frame, ["p1", "p2"], scale_min=1, scale_max=9, top_band=(7, 9))
    assert res.n_dropouts == 0 and not res.flagged
    assert res.summary.startswith("Nobody dropped out")
    assert res.items["p"].isna().all()


def test_an_empty_round():
    empty = pd.DataFrame(columns=["panelist", "item", "value"])
    res = attrition_bias(empty, [], scale_min=1, scale_max=5, top_band=(4, 5))
    assert res.items.empty and not res.flagged
