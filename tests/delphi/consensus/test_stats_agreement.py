"""Kendall's W and Krippendorff's alpha, against published values and independent code."""

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from delphi.consensus.stats import CONCORDANCE_COLUMNS, Scale, compute_round
from delphi.consensus.stats.agreement import kendall_w, krippendorff_alpha

COMET = {"preset": "comet", "scope": "all"}
NAN = np.nan

# Krippendorff K. (2011) Computing Krippendorff's alpha-reliability, reliability data with
# missing values: 4 observers x 12 units. Published: ordinal .815, interval .849.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def matrix_frame(matrix, groups=None):
    rows = []
    for p, ratings in enumerate(matrix):
        for i, v in enumerate(ratings):
            g = groups[p] if groups else "all"
            rows.append((f"obs{p}", g, f"unit{i + 1}", v))
    return pd.DataFrame(rows, columns=["panelist", "group", "item", "value"])


def test_krippendorff_2011_published_example():
    r = compute_round(matrix_frame(KRIPPENDORFF_2011), scale=Scale.parse("1-5"), definition=COMET)
    assert list(r.concordance.columns) == CONCORDANCE_COLUMNS
    row = r.concordance.set_index("group_key").loc["all"]
    assert round(row["alpha_ordinal"], 3) == 0.815
    assert round(row["alpha_interval"], 3) == 0.849
    for level in ("ordinal", "interval"):
        ref = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011, level_of_measurement=level)
        assert row[f"alpha_{level}"] == pytest.approx(ref, rel=1e-12)
    # No observer rated all 12 units: Kendall's W has no complete cases.
    assert row["n_panelists"] == 0 and math.isnan(row["kendall_w"])


def test_alpha_per_group_matches_krippendorff_package_on_random_data():
    rng = np.random.default_rng(3)
    for trial in range(20):
        m, n = int(rng.integers(3, 12)), int(rng.integers(4, 20))
        base = rng.integers(1, 10, n)
        data = np.clip(base[None, :] + rng.integers(-2, 3, (m, n)), 1, 9).astype(float)
        data[rng.random((m, n)) < 0.15] = np.nan
        hist = np.stack([np.bincount(col[~np.isnan(col)].astype(int) - 1, minlength=9)
                         for col in data.T])  # fmt: skip
        ordinal, interval = krippendorff_alpha(hist)
        for ours, level in ((ordinal, "ordinal"), (interval, "interval")):
            ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
            assert ours == pytest.approx(ref, rel=1e-9), (trial, level)


def test_alpha_undefined_when_every_value_identical_or_unpairable():
    assert all(math.isnan(a) for a in krippendorff_alpha(np.array([[0, 3, 0], [0, 2, 0]])))
    assert all(math.isnan(a) for a in krippendorff_alpha(np.array([[1, 0, 0], [0, 1, 0]])))


def test_kendall_w_by_hand_without_ties():
    # Ranks A: 1 2 3 4, B: 1 2 3 4, C: 4 3 2 1 -> R = 6 7 8 9, S = 5,
    # W = 12 * 5 / (3^2 * (4^3 - 4)) = 1/9; chi2 = 3 * 3 * W = 1 on 3 df.
    out = kendall_w(np.array([[0, 1, 2, 3], [0, 1, 2, 3], [3, 2, 1, 0]]), 9)
    assert out["kendall_w"] == pytest.approx(1 / 9)
    assert out["chi2"] == pytest.approx(1.0) and out["df"] == 3
    assert out["p"] == pytest.approx(stats.chi2.sf(1.0, 3))


def test_kendall_w_by_hand_with_ties():
    # Ratings A: 1 1 2, B: 1 2 3 (0-based). Ranks A: 1.5 1.5 3, B: 1 2 3; R = 2.5 3.5 6,
    # S = (2.5-4)^2 + (3.5-4)^2 + 2^2 = 6.5; T_A = 2^3 - 2 = 6;
    # W = 12 * 6.5 / (4 * 24 - 2 * 6) = 78 / 84.
    out = kendall_w(np.array([[0, 0, 1], [0, 1, 2]]), 9)
    assert out["kendall_w"] == pytest.approx(78 / 84)


def test_kendall_w_equals_friedman_on_random_tied_data():
    rng = np.random.default_rng(9)
    for _ in range(50):
        m, n = int(rng.integers(2, 30)), int(rng.integers(3, 15))
        mat = rng.integers(0, 9, (m, n))
        out = kendall_w(mat, 9)
        ref = stats.friedmanchisquare(*[mat[:, j] for j in range(n)])
        assert out["chi2"] == pytest.approx(ref.statistic, rel=1e-9)
        assert out["kendall_w"] == pytest.approx(ref.statistic / (m * (n - 1)), rel=1e-9)
        assert out["p"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_kendall_w_undefined_when_all_tied_or_too_few():
    assert math.isnan(kendall_w(np.full((4, 5), 3), 9)["kendall_w"])
    assert math.isnan(kendall_w(np.array([[1, 2, 3]]), 9)["kendall_w"])


def test_concordance_per_group_uses_complete_cases():
    matrix = [[7, 8, 2, 3], [9, 8, 1, 3], [7, 9, 2, NAN], [1, 2, 9, 8], [2, 1, 8, 9]]
    groups = ["a", "a", "a", "b", "b"]
    r = compute_round(matrix_frame(matrix, groups), scale=Scale.parse("1-9"), definition=COMET)
    c = r.concordance.set_index("group_key")
    assert c["n_panelists"].to_dict() == {"a": 2, "b": 2, "all": 4}
    assert (c["n_items"] == 4).all() and (c["df"] == 3).all()
    complete_a = np.array([[7, 8, 2, 3], [9, 8, 1, 3]])
    ref = stats.friedmanchisquare(*complete_a.T)
    assert c.loc["a", "kendall_w"] == pytest.approx(ref.statistic / (2 * 3))
    ref_alpha = krippendorff.alpha(
        reliability_data=np.array(matrix[:3], dtype=float), level_of_measurement="ordinal"
    )
    assert c.loc["a", "alpha_ordinal"] == pytest.approx(ref_alpha)


def test_kendall_w_textbook_example_three_executives_six_applicants():
    # Siegel (1956), Nonparametric Statistics, ch. 9: three executives rank six job applicants;
    # rank sums 8 14 11 11 11 8, s = 25.5, W = 12 * 25.5 / (3^2 * (6^3 - 6)) = .16.
    # The ranks are as we recall them from the book (not re-checked against a copy offline).
    ranks = np.array([[1, 6, 3, 2, 5, 4], [1, 5, 6, 4, 2, 3], [6, 3, 2, 5, 4, 1]]) - 1
    out = kendall_w(ranks, 9)
    assert out["kendall_w"] == pytest.approx(306 / 1890)
    assert round(out["kendall_w"], 2) == 0.16
