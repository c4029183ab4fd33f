"""Exact histogram quantiles against numpy's and pandas' implementations of all nine types."""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from delphi.consensus.stats import NUMPY_METHOD, Scale, compute_round
from delphi.consensus.stats.quantiles import quantile

PROBS = [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(3, 10), Fraction(7, 10)]


@pytest.mark.parametrize("qtype", range(1, 10))
def test_every_hyndman_fan_type_matches_numpy(qtype):
    rng = np.random.default_rng(qtype)
    samples = [rng.integers(1, 10, int(rng.integers(1, 25))) for _ in range(300)]
    counts = np.stack([np.bincount(x - 1, minlength=9) for x in samples])
    for p in PROBS:
        ours = quantile(counts, p, qtype, lo=1)
        theirs = [np.quantile(x, float(p), method=NUMPY_METHOD[qtype]) for x in samples]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12, err_msg=f"{qtype} {p}")


def test_type_7_matches_pandas_default():
    rng = np.random.default_rng(7)
    x = pd.Series(rng.integers(1, 6, 37))
    counts = np.bincount(x - 1, minlength=5)[None, :]
    for p in PROBS:
        assert quantile(counts, p, 7, lo=1)[0] == pytest.approx(x.quantile(float(p)))


def test_empty_row_is_nan_not_zero():
    assert np.isnan(quantile(np.zeros((1, 9), dtype=int), Fraction(1, 2)))[0]


def test_compute_round_uses_the_chosen_quantile_type():
    values = [1, 2, 2, 5, 9, 9]
    df = pd.DataFrame({"panelist": list("abcdef"), "item": "A", "value": values})
    for qtype in (1, 6, 7, 9):
        r = compute_round(
            df, scale=Scale.parse("1-9"), definition={"preset": "comet"}, quantile_type=qtype
        )
        row = r.items.iloc[0]
        method = NUMPY_METHOD[qtype]
        assert row["q1"] == pytest.approx(np.quantile(values, 0.25, method=method))
        assert row["q3"] == pytest.approx(np.quantile(values, 0.75, method=method))
        assert row["p30"] == pytest.approx(np.quantile(values, 0.3, method=method))


def test_unknown_quantile_type_is_refused():
    df = pd.DataFrame({"panelist": ["a"], "item": ["A"], "value": [5.0]})
    with pytest.raises(ValueError, match="Quantile type"):
        compute_round(df, scale="1-9", definition={"preset": "comet"}, quantile_type=10)
