"""Stability between rounds: the paired Wilcoxon signed-rank test and the percentage change.

The Wilcoxon test works on histograms of the paired differences d = this round - previous round,
one histogram per item x group, so thousands of tests take a few milliseconds. It reproduces
scipy.stats.wilcoxon(d, zero_method="wilcox", correction=False):
- zero differences are dropped (Wilcoxon's original treatment);
- tied |d| get the average of the ranks they span;
- the statistic is min(R+, R-) (scipy's two-sided statistic);
- the two-sided p-value is exact (the null distribution of R+ by enumeration, scipy's
  method="exact") when no two non-zero |d| are tied and n <= 50; otherwise it is the normal
  approximation with the tie correction, var = n(n+1)(2n+1)/24 - sum(t^3 - t)/48, without
  continuity correction (scipy's method="approx").
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

EXACT_MAX_N = 50


def _exact_null_cdf(n: int) -> np.ndarray:
    """P(R+ <= r) for r = 0..n(n+1)/2 under H0, ranks 1..n without ties."""
    top = n * (n + 1) // 2
    ways = np.zeros(top + 1, dtype=np.float64)
    ways[0] = 1.0
    for r in range(1, n + 1):
        ways[r:] = ways[r:] + ways[: top + 1 - r].copy()
    return np.cumsum(ways) / 2.0**n


_EXACT_CACHE: dict[int, np.ndarray] = {}


def _exact_p(n: int, stat: float) -> float:
    cdf = _EXACT_CACHE.get(n)
    if cdf is None:
        cdf = _EXACT_CACHE[n] = _exact_null_cdf(n)
    return float(min(1.0, 2.0 * cdf[int(round(stat))]))


def wilcoxon_from_histograms(diff_hist: np.ndarray) -> dict[str, np.ndarray]:
    """diff_hist: (rows, 2K-1) counts of differences -(K-1)..(K-1). Returns arrays per row."""
    rows, width = diff_hist.shape
    k1 = (width - 1) // 2  # largest |d|
    neg = diff_hist[:, :k1][:, ::-1].astype(np.float64)  # |d| = 1..k1
    pos = diff_hist[:, k1 + 1 :].astype(np.float64)
    tied = neg + pos
    n_paired = diff_hist.sum(axis=1)
    n = tied.sum(axis=1)
    below = np.cumsum(tied, axis=1) - tied
    rank = below + (tied + 1.0) / 2.0
    r_plus = (pos * rank).sum(axis=1)
    r_minus = (neg * rank).sum(axis=1)
    stat = np.minimum(r_plus, r_minus)
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - (tied**3 - tied).sum(axis=1) / 48.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (stat - mean) / np.sqrt(var)
    p = np.minimum(1.0, 2.0 * special.ndtr(-np.abs(z)))
    no_ties = (tied <= 1).all(axis=1)
    exact = no_ties & (n >= 1) & (n <= EXACT_MAX_N)
    for i in np.flatnonzero(exact):
        p[i] = _exact_p(int(n[i]), stat[i])
    undefined = n == 0
    stat[undefined] = np.nan
    p[undefined] = np.nan
    return {"n_paired": n_paired, "wilcoxon_stat": stat, "wilcoxon_p": p, "exact": exact}


def percentage_change(cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """Half the sum over scale values of |%this round - %previous round| (Scheibe et al. 1975).

    cur, prev: (rows, K) counts. NaN where either round has no valid rating.
    """
    nc = cur.sum(axis=1, keepdims=True).astype(np.float64)
    np_ = prev.sum(axis=1, keepdims=True).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 50.0 * np.abs(cur / nc - prev / np_).sum(axis=1)
    out[(nc[:, 0] == 0) | (np_[:, 0] == 0)] = math.nan
    return out
