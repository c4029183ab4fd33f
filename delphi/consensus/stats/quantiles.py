"""Exact Hyndman-Fan sample quantiles from count histograms of integer ratings.

Ratings are small integers, so a row's sorted sample is fully described by its counts per scale
value. The quantile is computed in rational arithmetic: for probability p = a/b the position
h = n*p + m(p) has a small common denominator, so floor(h) and the interpolation weight are exact
and "h is a whole number" is decided without floating-point error (which matters for the
discontinuous types 1-3 and for the RAND/UCLA disagreement test built on P30 and P70).

Hyndman R.J. & Fan Y. (1996) Sample quantiles in statistical packages. The American
Statistician 50(4):361-365. Type 7 is the default of R, numpy, pandas and Excel PERCENTILE.INC.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

QUANTILE_TYPES = tuple(range(1, 10))

# numpy's names for the nine types, used by the tests and the docs.
NUMPY_METHOD = {
    1: "inverted_cdf",
    2: "averaged_inverted_cdf",
    3: "closest_observation",
    4: "interpolated_inverted_cdf",
    5: "hazen",
    6: "weibull",
    7: "linear",
    8: "median_unbiased",
    9: "normal_unbiased",
}


def _offset(qtype: int, p: Fraction) -> Fraction:
    """m in h = n*p + m (Hyndman & Fan's notation, 1-based order statistics)."""
    return {
        1: Fraction(0),
        2: Fraction(0),
        3: Fraction(-1, 2),
        4: Fraction(0),
        5: Fraction(1, 2),
        6: p,
        7: 1 - p,
        8: (p + 1) / 3,
        9: p / 4 + Fraction(3, 8),
    }[qtype]


def _order_stat(cum: np.ndarray, n: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Index (0-based scale position) of the j-th smallest value, j clamped to 1..n."""
    j = np.clip(j, 1, np.maximum(n, 1))
    return (cum < j[:, None]).sum(axis=1)


def quantile_exact(
    counts: np.ndarray, p: Fraction, qtype: int = 7, *, lo: int = 0, cum=None, n=None
) -> tuple[np.ndarray, int]:
    """Quantile p of each row's sample, as (numerators, common denominator).

    counts: (rows, K) integer counts per scale value lo..lo+K-1. Rows with n == 0 give 0/den and
    must be masked by the caller.
    """
    if qtype not in QUANTILE_TYPES:
        raise ValueError(f"Quantile type must be 1 to 9, not {qtype!r}.")
    p = Fraction(p)
    if cum is None:
        cum = np.cumsum(counts, axis=1)
    if n is None:
        n = cum[:, -1]
    n = n.astype(np.int64)
    m = _offset(qtype, p)
    den = p.denominator * m.denominator // np.gcd(p.denominator, m.denominator)
    h_num = n * (p.numerator * (den // p.denominator)) + m.numerator * (den // m.denominator)
    j = h_num // den
    g_num = h_num - j * den
    if qtype <= 3:
        # Discontinuous types: the weight gamma is 0, 1/2 or 1 (written over 2).
        if qtype == 1:
            gamma = np.where(g_num == 0, 0, 2)
        elif qtype == 2:
            gamma = np.where(g_num == 0, 1, 2)
        else:
            gamma = np.where((g_num == 0) & (j % 2 == 0), 0, 2)
        g_num, den = gamma.astype(np.int64), 2
    xj = _order_stat(cum, n, j).astype(np.int64) + lo
    xj1 = _order_stat(cum, n, j + 1).astype(np.int64) + lo
    return xj * den + g_num * (xj1 - xj), den


def quantile(counts: np.ndarray, p, qtype: int = 7, *, lo: int = 0) -> np.ndarray:
    """Float quantiles (NaN for empty rows)."""
    num, den = quantile_exact(counts, Fraction(p), qtype, lo=lo)
    out = num / den
    out[counts.sum(axis=1) == 0] = np.nan
    return out
